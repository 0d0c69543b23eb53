"""The conversation session without Qt: a whole conversation (send, stream, stop, retry, edit, reopen) through
``app.core.session`` against the real loopback OpenAI-compatible server, through the real ApiBackend, with the
real SQLite history. The window and `glmv ask` drive this same object."""

from __future__ import annotations

import time

import pytest

from app.core.backends.api import ApiBackend
from app.core.backends.base import GenerationOptions
from app.core.conversation import Attachment, AttachmentRecord
from app.core.session import Session, SessionListener, ThreadRunner, Turn
from app.core.store import Store
from app.core.stream_runner import StreamResult, StreamRun
from tests.support.openai_server import dialect_stream, error_reply

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8ffff3f0005fe02fe"
    "a7c6a5b50000000049454e44ae426082"
)


class Heard(SessionListener):
    """Every call the session makes, in order, as (name, what it said)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def conversation_shown(self) -> None:
        self.calls.append(("shown", None))

    def turn_added(self, turn: Turn) -> None:
        self.calls.append(("added", turn))

    def turns_removed(self, turns: list[Turn]) -> None:
        self.calls.append(("removed", [t.id for t in turns]))

    def answer_started(self, turn: Turn, run: StreamRun) -> None:
        self.calls.append(("started", turn))

    def answer_ended(self, turn: Turn | None, result: StreamResult) -> None:
        self.calls.append(("ended", result.status))

    def failure(self, kind: str, message: str, retryable: bool) -> None:
        self.calls.append(("failure", kind))

    def remark(self, text: str, milliseconds: int) -> None:
        self.calls.append(("remark", text))

    def conversation_touched(self, conversation_id: str, title: str | None) -> None:
        self.calls.append(("touched", title))

    def question_returned(self, turn: Turn) -> None:
        self.calls.append(("returned", turn.id))


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data") as opened:
        yield opened


def session_on(store: Store, server, listener: SessionListener | None = None) -> tuple[Session, ThreadRunner]:
    runner = ThreadRunner()
    backend = ApiBackend("vllm", base_url=server.url, model="glm-4.6v", api_key="test-key")
    session = Session(backend, store, options=GenerationOptions(history_turns=4), runner=runner, listener=listener)
    return session, runner


def finish(runner: ThreadRunner) -> None:
    assert runner.wait(15), "the answer did not end"


def test_a_whole_conversation_through_the_session(store, openai_server, tmp_path):
    shot = tmp_path / "shot.png"
    shot.write_bytes(PNG)
    heard = Heard()
    session, runner = session_on(store, openai_server, heard)

    # Send: a question with an image streams its thinking and answer into one turn, saved as it goes.
    openai_server.enqueue(dialect_stream("vllm", reasoning="A tiny image.", answer="One red pixel."))
    image = AttachmentRecord(Attachment(shot, "image"), tokens=12)
    answer = session.send("What is on this screenshot?", [image])
    assert answer is not None and session.is_streaming()
    finish(runner)
    question = session.turns[0]
    assert [t.role for t in session.turns] == ["user", "assistant"] and session.turns[1] is answer
    assert (answer.text, answer.thinking, answer.status) == ("One red pixel.", "A tiny image.", "done")
    assert answer.thinking_seconds is not None and not session.is_streaming()
    assert heard.names() == ["added", "touched", "started", "ended"]
    assert heard.calls[1] == ("touched", "What is on this screenshot?")
    sent = openai_server.last.body["messages"][-1]["content"]
    assert any(part.get("type") == "image_url" for part in sent)
    conversation = session.conversation_id
    assert conversation is not None and store.last_opened() == conversation

    # A follow-up carries the first question and answer along; the history's cost counts what goes.
    assert session.history_tokens() == question.tokens() + answer.tokens() and question.tokens() > 12
    openai_server.enqueue(dialect_stream("vllm", answer="Red."))
    session.send("Which colour?")
    finish(runner)
    messages = openai_server.last.body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"] and messages[1]["content"] == "One red pixel."

    # Stop: the partial answer is kept, shown as stopped and saved so.
    full = "".join(f"word{i} " for i in range(400))
    openai_server.enqueue(dialect_stream("vllm", answer=full, piece=6, delay=0.01))
    session.send("Write a lot")
    run = session.run
    assert run is not None
    arrived = ""
    deadline = time.monotonic() + 10
    while len(arrived) < 30 and time.monotonic() < deadline:
        arrived += run.drain()[1]
        time.sleep(0.01)
    session.stop()
    finish(runner)
    stopped = session.turns[-1]
    assert stopped.status == "stopped" and stopped.text and full.startswith(stopped.text) and stopped.text != full
    assert heard.calls[-1] == ("remark", "Stopped. The partial answer is kept.")

    # Retry that gets nothing: the stopped answer comes back, with the failure said.
    openai_server.enqueue(error_reply(500, "boom"))
    session.retry()
    finish(runner)
    assert session.turns[-1].text == stopped.text and session.turns[-1].status == "stopped"
    assert heard.names()[-4:] == ["ended", "removed", "added", "failure"]
    # Retry that answers: it replaces the stopped one.
    openai_server.enqueue(dialect_stream("vllm", answer="A short one."))
    session.retry()
    finish(runner)
    assert [t.text for t in session.turns[-2:]] == ["Write a lot", "A short one."]
    assert openai_server.last.body["messages"][-1]["content"] == "Write a lot"

    # Edit the first question: it and everything after it are replaced by the new question and its answer.
    edited = session.begin_edit(question.id)
    assert edited is question and session.history_tokens() == 0
    openai_server.enqueue(dialect_stream("vllm", answer="Still one pixel."))
    session.send("What is this, in one word?", question.attachments)
    finish(runner)
    assert [t.text for t in session.turns] == ["What is this, in one word?", "Still one pixel."]
    assert session.editing is None
    sent = openai_server.last.body["messages"]
    assert len(sent) == 1 and any(part.get("type") == "image_url" for part in sent[0]["content"])

    # Reopen: a new session on the same history shows the same turns, and what the next request would carry.
    store.flush()
    again, _ = session_on(store, openai_server)
    again.open(conversation)
    assert [(t.role, t.text, t.status) for t in again.turns] == [(t.role, t.text, t.status) for t in session.turns]
    (kept,) = again.turns[0].attachments
    assert (kept.name, kept.tokens) == ("shot.png", 12)
    assert again.request().messages[-1].text == "Still one pixel."
    assert again.history_tokens() == session.history_tokens()
    assert store.conversation(conversation).title == "What is this, in one word?"


def test_an_answer_that_fails_before_a_word_goes_and_its_question_is_offered_again(store, openai_server):
    heard = Heard()
    session, runner = session_on(store, openai_server, heard)
    openai_server.enqueue(error_reply(401, "Invalid API key"))
    session.send("Describe")
    finish(runner)
    (question,) = session.turns
    assert heard.names()[-4:] == ["ended", "removed", "failure", "returned"]
    assert heard.calls[-2] == ("failure", "auth") and heard.calls[-1] == ("returned", question.id)
    store.flush()
    assert [m.text for m in store.messages(session.conversation_id)] == ["Describe"]


def test_the_request_and_the_budget_leave_out_the_same_answers(store, openai_server):
    """A failed answer or one without text goes to neither the model nor the history's cost: one rule."""
    session, _ = session_on(store, openai_server)
    session.turns = [
        Turn("q1", "user", "first question"),
        Turn("a1", "assistant", "a partial answer", status="failed"),
        Turn("q2", "user", "second question"),
        Turn("a2", "assistant", "", status="stopped"),
        Turn("q3", "user", "third question"),
        Turn("a3", "assistant", "kept", status="stopped"),
    ]
    sent = [m.text for m in session.request().messages]
    assert sent == ["first question", "second question", "third question", "kept"]
    kept = [t for t in session.turns if t.text in sent]
    assert session.history_tokens() == sum(t.tokens() for t in kept)
    session.options = GenerationOptions(history_turns=1)
    assert session.history_tokens() == sum(t.tokens() for t in kept[-2:])


def test_without_a_backend_nothing_is_sent_and_the_reason_is_said(tmp_path):
    heard = Heard()
    session = Session(None, listener=heard, backend_error="The local backend cannot start.")
    assert session.send("hello") is None
    assert heard.calls == [("failure", "model")] and session.turns == [] and session.budget([], "hello") is None


def test_a_session_without_a_history_answers_where_it_is_asked(openai_server):
    """`glmv ask`: nothing kept, the answer streamed inline, every event heard as it comes."""
    events = []
    backend = ApiBackend("vllm", base_url=openai_server.url, model="glm-4.6v", api_key="k")
    session = Session(backend, on_event=events.append)
    openai_server.enqueue(dialect_stream("vllm", reasoning="Hm.", answer="Paris."))
    answer = session.send("Capital of France?")
    assert answer is not None and answer.text == "Paris." and not session.is_streaming()
    assert [type(e).__name__ for e in events][-1] == "Done"
    session.close()
