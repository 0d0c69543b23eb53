"""`glmv ask` and `glmv inspect` run as real subprocesses against a real server: output, exit codes, messages."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.support.cli import cli_env, glmv
from tests.support.openai_server import (
    Stream,
    closed_port_url,
    dialect_chunks,
    dialect_stream,
    error_reply,
)
from tests.support.paths import CORPUS, ROOT

REASONING = "The user asks where the cat is."
ANSWER = "The cat is at <|begin_of_box|>[[120, 340, 560, 780]]<|end_of_box|>."


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def joined(records: list[dict], kind: str) -> str:
    return "".join(r["text"] for r in records if r["type"] == kind)


def png(path: Path, size=(800, 600)) -> Path:
    Image.new("RGB", size, (200, 40, 40)).save(path)
    return path


def test_ask_json_separates_thinking_answer_and_boxes(openai_server):
    openai_server.enqueue(dialect_stream("vllm", REASONING, ANSWER, piece=4))
    result = glmv("ask", "--preset", "vllm", "--base-url", openai_server.url, "--json", "where is the cat?")
    assert result.returncode == 0, result.stderr
    records = lines(result.stdout)
    assert joined(records, "thinking") == REASONING
    answer = joined(records, "answer")
    assert answer.startswith("The cat is at ") and "<|begin_of_box|>" not in answer
    (boxes,) = [r for r in records if r["type"] == "boxes"]
    assert boxes == {"type": "boxes", "boxes": [{"box": [120, 340, 560, 780], "label": None}], "image": None}
    assert records[-1]["type"] == "done" and records[-1]["finish_reason"] == "stop"
    assert records[-1]["usage"]["total_tokens"] == 37
    body = openai_server.last.body
    assert body["model"] == "glm-4.6v"  # asked from the server's /models: the vllm preset names none
    assert body["chat_template_kwargs"] == {"enable_thinking": True}
    assert body["messages"] == [{"role": "user", "content": "where is the cat?"}]


def test_ask_with_an_image_points_boxes_at_it(openai_server, tmp_path):
    openai_server.enqueue(dialect_stream("vllm", REASONING, ANSWER))
    image = png(tmp_path / "cat.png")
    result = glmv(
        "ask",
        "--preset",
        "vllm",
        "--base-url",
        openai_server.url,
        "--model",
        "m",
        "--attach",
        str(image),
        "--json",
        "?",
    )
    assert result.returncode == 0, result.stderr
    (boxes,) = [r for r in lines(result.stdout) if r["type"] == "boxes"]
    assert boxes["image"] == 0
    content = openai_server.last.body["messages"][0]["content"]
    assert content[1]["image_url"]["url"].startswith("data:image/")
    assert content[2] == {"type": "text", "text": "?"}


def test_ask_json_pairs_box_groups_with_the_question_images_in_order(openai_server, tmp_path):
    """Two pictures and three box groups: the JSON says which picture each group is on, as --draw and the
    window read it (in order; extra groups stay on the last picture)."""
    answer = (
        "Left: <|begin_of_box|>[[1, 2, 3, 4]]<|end_of_box|> right: <|begin_of_box|>[[5, 6, 7, 8]]<|end_of_box|>"
        " extra: <|begin_of_box|>[[9, 9, 10, 10]]<|end_of_box|>"
    )
    openai_server.enqueue(dialect_stream("vllm", "", answer))
    a, b = png(tmp_path / "a.png"), png(tmp_path / "b.png")
    url = openai_server.url
    result = glmv("ask", "--preset", "vllm", "--base-url", url, "--attach", str(a), "--attach", str(b), "--json", "?")
    assert result.returncode == 0, result.stderr
    assert [r["image"] for r in lines(result.stdout) if r["type"] == "boxes"] == [0, 1, 1]


def test_ask_plain_prints_the_answer_on_stdout_and_thinking_on_stderr(openai_server):
    openai_server.enqueue(dialect_stream("llamacpp", REASONING, "Paris, 你好."))
    result = glmv("ask", "--preset", "llamacpp", "--base-url", openai_server.url, "capital?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Paris, 你好.\n"
    assert REASONING in result.stderr and "Paris" not in result.stderr


def test_ask_sends_the_options(openai_server):
    result = glmv(
        "ask",
        "--preset",
        "sglang",
        "--base-url",
        openai_server.url,
        "--model",
        "glm-4.6v-flash",
        "--no-thinking",
        "--max-tokens",
        "256",
        "--temperature",
        "0.3",
        "--json",
        "hi",
    )
    assert result.returncode == 0, result.stderr
    body = openai_server.last.body
    assert body["model"] == "glm-4.6v-flash"
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert (body["max_tokens"], body["temperature"]) == (256, 0.3)


def test_ask_zai_takes_the_key_from_the_named_variable(openai_server):
    openai_server.enqueue(dialect_stream("zai", "r", "ok"))
    result = glmv(
        "ask",
        "--preset",
        "zai",
        "--base-url",
        openai_server.zai_url,
        "--api-key-env",
        "MY_ZAI_KEY",
        "--thinking",
        "hi",
        env={"MY_ZAI_KEY": "zk-123", "GLMV_API_KEY": "other"},
    )
    assert result.returncode == 0, result.stderr
    request = openai_server.last
    assert request.path == "/api/paas/v4/chat/completions"
    assert request.headers["authorization"] == "Bearer zk-123"
    assert request.body["thinking"] == {"type": "enabled"}
    assert "zk-123" not in result.stdout + result.stderr


def test_ask_zai_without_a_key_says_where_to_put_one(openai_server):
    result = glmv("ask", "--preset", "zai", "--base-url", openai_server.zai_url, "hi")
    assert result.returncode == 2
    assert "no API key for Z.ai" in result.stderr and "GLMV_API_KEY" in result.stderr
    assert openai_server.chat_requests == []


FAULTS = [
    (error_reply(401, "invalid api key"), "auth", "rejected by 127.0.0.1"),
    (error_reply(429, "Too Many Requests", retry_after="5"), "rate_limit", "wait 5 s"),
    (error_reply(500, "Internal Server Error"), "server", "HTTP 500"),
    (error_reply(503, "Service Unavailable"), "server", "overloaded"),
    (error_reply(400, "Unknown Model", code="1211"), "model", "the server does not know model 'glm-4.6v'"),
    (Stream([*dialect_chunks("vllm", "r", "part")[:-2], "data: {broken\n\n"], done=False), "server", "not JSON"),
    (Stream(dialect_chunks("vllm", "r", "part")[:-2], ending="drop"), "network", "dropped"),
    (Stream([*dialect_chunks("vllm", "r", "part")[:-2], {"error": {"message": "overheated"}}]), "server", "overheated"),
    (Stream(dialect_chunks("vllm", "r", "part")[:-2], ending="stall"), "network", "stopped sending for 0.5 s"),
]


@pytest.mark.parametrize(("reply", "kind", "words"), FAULTS, ids=[f"{f[1]}-{f[2][:12]}" for f in FAULTS])
def test_ask_faults_exit_1_with_a_clear_message(openai_server, reply, kind, words):
    openai_server.enqueue(reply)
    base = ["ask", "--preset", "vllm", "--base-url", openai_server.url, "--model", "glm-4.6v", "--timeout", "0.5"]
    key = {"GLMV_API_KEY": "sk-test"}
    result = glmv(*base, "--json", "hi", env=key)
    assert result.returncode == 1, result.stderr
    records = lines(result.stdout)
    assert records[-1]["type"] == "error" and records[-1]["kind"] == kind
    assert words in records[-1]["message"]
    if isinstance(reply, Stream):
        assert joined(records, "answer") == "part"  # what arrived stays

    openai_server.enqueue(reply)
    plain = glmv(*base, "hi", env=key)
    assert plain.returncode == 1
    assert words in plain.stderr and plain.stderr.rstrip().splitlines()[-1].startswith("glmv: error: ")


def test_ask_connection_refused_exits_1():
    url = closed_port_url()
    result = glmv("ask", "--base-url", url, "--model", "m", "hi")
    assert result.returncode == 1
    assert f"could not connect to {url}: is the server running?" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["ask", "--attach", "/no/such/file.png", "hi"], "/no/such/file.png: no such file"),
        (["ask", "--max-tokens", "lots", "hi"], "is not a whole number"),
        (["ask", "--temperature", "9", "hi"], "between 0 and 2"),
        (["ask", "--preset", "nope", "hi"], "invalid choice"),
        (["ask", "--thinking", "--no-thinking", "hi"], "not allowed with"),
        (["ask"], "the question is empty"),  # a quick action (--action) may be the whole question
        (["ask", "--backend", "local", "--base-url", "http://x/v1", "hi"], "apply to --backend api only"),
        (["inspect"], "required: PATH"),
    ],
)
def test_bad_usage_exits_2(args, words):
    result = glmv(*args)
    assert result.returncode == 2
    assert words in result.stderr


def test_unusable_attachment_exits_2_without_asking(openai_server, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    result = glmv("ask", "--base-url", openai_server.url, "--model", "m", "--attach", str(broken), "--json", "?")
    assert result.returncode == 2
    (record,) = lines(result.stdout)
    assert record["type"] == "error" and record["kind"] == "input" and "broken.png" in record["message"]
    assert openai_server.chat_requests == []


def test_sigint_mid_stream_exits_130_and_keeps_what_was_printed(openai_server):
    openai_server.enqueue(Stream(dialect_chunks("vllm", "r", "partial answer")[:-2], ending="stall"))
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "ask", "--base-url", openai_server.url, "--model", "m", "--json", "hi"],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    received = []
    try:
        while joined(received, "answer") != "partial answer":
            line = process.stdout.readline()
            assert line, process.stderr.read()
            received.append(json.loads(line))
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert elapsed < 2
    records = received + lines(rest)
    assert joined(records, "answer") == "partial answer"
    assert records[-1]["type"] == "error" and records[-1]["kind"] == "cancelled"


def test_inspect_reports_sizes_tokens_and_total(tmp_path):
    big = png(tmp_path / "big.png", (4000, 3000))
    small = png(tmp_path / "small.png", (640, 480))
    result = glmv("inspect", str(big), str(small))
    assert result.returncode == 0, result.stderr
    assert "big.png: image" in result.stdout
    assert "4000×3000 → " in result.stdout and "tokens" in result.stdout
    assert "total: ~" in result.stdout and "131072-token context" in result.stdout

    result = glmv("inspect", "--json", "--preset", "zai", str(big), str(small))
    assert result.returncode == 0, result.stderr
    first, second, total = lines(result.stdout)
    assert first["type"] == "attachment" and first["kind"] == "image"
    (image,) = first["parts"]
    assert image["source"] == [4000, 3000]
    sent_w, sent_h = image["sent"]
    assert sent_w % 28 == 0 and sent_h % 28 == 0 and sent_w * sent_h <= 9633792
    assert image["bytes"] * 4 / 3 < 5 * 1024 * 1024
    assert total == {
        "type": "total",
        "files": 2,
        "errors": 0,
        "tokens": first["tokens"] + second["tokens"],
        "context_tokens": 131072,
        "answer_reserve": 16384,
        "fits": True,
        "warnings": [],
        "way_out": None,
    }


def test_inspect_over_the_context_says_so_and_what_to_do(tmp_path):
    """Two dozen 4K screenshots overflow the 128K context: the total says it will not fit and how to make it fit."""
    paths = [str(png(tmp_path / f"shot{i}.png", (3840, 2160))) for i in range(24)]
    result = glmv("inspect", "--json", *paths)
    assert result.returncode == 0, result.stderr
    total = lines(result.stdout)[-1]
    assert total["type"] == "total" and total["fits"] is False
    assert total["tokens"] > total["context_tokens"] - total["answer_reserve"]
    assert "will not fit" in total["warnings"][0] and total["way_out"].startswith("To fit: ")
    plain = glmv("inspect", *paths)
    assert "will not fit" in plain.stdout and "To fit: " in plain.stdout


def test_inspect_reports_unusable_files_and_exits_2(tmp_path):
    good = png(tmp_path / "good.png", (100, 100))
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    result = glmv("inspect", "--json", str(good), str(empty), str(tmp_path / "missing.pdf"))
    assert result.returncode == 2
    records = lines(result.stdout)
    assert [r["type"] for r in records] == ["attachment", "error", "error", "total"]
    assert "empty" in records[1]["message"] and "no such file" in records[2]["message"]
    assert records[-1]["files"] == 1 and records[-1]["errors"] == 2


def test_inspect_a_real_pdf_with_pages():
    corpus = CORPUS
    pdf = corpus / "mupdf_explored.pdf"
    if not pdf.exists():
        pytest.skip("the shared corpus is not here")
    result = glmv("inspect", "--json", "--pages", "1-2", str(pdf))
    if result.returncode == 2 and "not supported yet" in result.stdout:
        pytest.skip("PDF attachments are not in this build yet")
    assert result.returncode == 0, result.stdout + result.stderr
    record = lines(result.stdout)[0]
    assert record["kind"] == "pdf" and record["pages_used"] == [1, 2]


def test_importing_the_cli_stays_light():
    code = (
        "import sys, app.cli\n"
        "heavy = [m for m in ('torch', 'transformers', 'PySide6', 'fitz', 'httpx', 'PIL') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_doctor_json_lists_every_check_and_its_exit_code_says_whether_any_is_a_problem(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_STATE_HOME": str(tmp_path / "s"), "DISPLAY": ""}
    result = glmv("doctor", "--json", env=env, timeout=120)
    report = json.loads(result.stdout)
    names = {c["area"] for c in report["checks"]}
    assert {"Platform", "Display", "Capture", "Keyring", "GPU", "LibreOffice", "Folders"} <= names
    assert result.returncode == (1 if report["problems"] else 0)
    display = next(c for c in report["checks"] if c["area"] == "Display")
    assert display["status"] == "problem" and "xvfb-run" in display["fix"]


def test_verbose_logs_to_the_state_folder_without_the_key(openai_server, tmp_path):
    openai_server.enqueue(dialect_stream("vllm", "hm", "fine"))
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "GLMV_API_KEY": "sk-very-secret-key-123456"}
    url = openai_server.url
    result = glmv("--verbose", "ask", "--preset", "vllm", "--base-url", url, "--model", "m", "hi", env=env)
    assert result.returncode == 0, result.stderr
    (log,) = (tmp_path / "state").rglob("*.log")
    text = log.read_text()
    assert "127.0.0.1" in text and "sk-very-secret-key-123456" not in text
    assert openai_server.last.headers["authorization"] == "Bearer sk-very-secret-key-123456"


ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[?1049h\x1b[6n\x9b6n\rover\u202egnp.exe"


def _inert(text: str) -> bool:
    """No ESC, BEL, CR, C1 control or bidi override: nothing a terminal would obey."""
    return not any(c in text for c in "\x1b\x07\r\u202e") and not any(0x80 <= ord(c) <= 0x9F for c in text)


def test_ask_plain_prints_hostile_model_and_server_text_inert(openai_server):
    """Escapes in the thinking, the answer and a server's error message are shown, not obeyed, on a pipe."""
    openai_server.enqueue(dialect_stream("vllm", f"think {ESCAPES}", f"answer {ESCAPES}"))
    result = glmv("ask", "--preset", "vllm", "--base-url", openai_server.url, "--model", "m", "hi")
    assert result.returncode == 0, result.stderr
    assert _inert(result.stdout) and _inert(result.stderr)
    assert "answer \u241b]0;pwned\u2407" in result.stdout and "think \u241b[2J" not in result.stdout
    assert "think \u241b]0;pwned" in result.stderr

    openai_server.enqueue(Stream([*dialect_chunks("vllm", "r", "part")[:-2], {"error": {"message": ESCAPES}}]))
    failed = glmv("ask", "--preset", "vllm", "--base-url", openai_server.url, "--model", "m", "hi")
    assert failed.returncode == 1
    assert _inert(failed.stdout) and _inert(failed.stderr) and "\u241b[6n" in failed.stderr

    openai_server.enqueue(dialect_stream("vllm", ESCAPES, ESCAPES))
    as_json = glmv("ask", "--preset", "vllm", "--base-url", openai_server.url, "--model", "m", "--json", "hi")
    assert _inert(as_json.stdout)
    assert joined(lines(as_json.stdout), "answer") == ESCAPES  # JSON keeps the text exactly


def test_inspect_says_page_for_one_page_and_pages_for_more():
    corpus = CORPUS
    one, long = corpus / "github_sample.pdf", corpus / "mupdf_explored.pdf"
    if not (one.exists() and long.exists()):
        pytest.skip("the shared corpus is not here")
    result = glmv("inspect", "--pages", "1-2", str(one), str(long))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "github_sample.pdf: pdf via pymupdf, page 1 of 1, ~" in result.stdout
    assert "mupdf_explored.pdf: pdf via pymupdf, pages 1-2 of 285, ~" in result.stdout


def test_inspect_prints_hostile_file_names_inert(tmp_path):
    name = "\x1b]0;pwned\x07shot\x1b[2J\u202egnp"
    good = png(tmp_path / f"{name}.png", (64, 64))
    empty = tmp_path / f"{name}.pdf"
    empty.write_bytes(b"")
    result = glmv("inspect", str(good), str(empty), str(tmp_path / f"{name}-missing.png"))
    assert result.returncode == 2
    assert _inert(result.stdout) and _inert(result.stderr)
    assert "\u241b]0;pwned\u2407shot" in result.stdout and "\u241b]0;pwned\u2407shot" in result.stderr

    as_json = glmv("inspect", "--json", str(good), str(empty))
    assert _inert(as_json.stdout)
    assert lines(as_json.stdout)[0]["path"] == str(good)


def test_ask_says_when_a_box_group_was_longer_than_what_is_kept(openai_server):
    from app.core.reasoning import MAX_BOX_GROUP_CHARS

    quads = ", ".join(f"[{i % 900}, {i % 700}, {i % 900 + 9}, {i % 700 + 9}]" for i in range(MAX_BOX_GROUP_CHARS // 10))
    answer = "Every object: <|begin_of_box|>[" + quads + "]<|end_of_box|>"
    openai_server.enqueue(dialect_stream("vllm", "", answer, piece=65536))
    plain = glmv("ask", "--preset", "vllm", "--base-url", openai_server.url, "find everything")
    assert plain.returncode == 0, plain.stderr
    assert "glmv: note: The model listed more boxes than are kept of one group; the first" in plain.stderr
    openai_server.enqueue(dialect_stream("vllm", "", answer, piece=65536))
    result = glmv("ask", "--preset", "vllm", "--base-url", openai_server.url, "--json", "find everything")
    (group,) = [r for r in lines(result.stdout) if r["type"] == "boxes"]
    assert group["cut_short"] is True and 10_000 < len(group["boxes"]) < MAX_BOX_GROUP_CHARS // 10
