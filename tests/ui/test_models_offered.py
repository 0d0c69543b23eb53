"""The models each preset offers (the server's list where it answers, cut to vision models for the clouds; the
known vision models otherwise) in the settings' model field against a loopback server, and each provider's
image limits as its dialect applies them (BigModel: 50 images a request)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PIL import Image
from PySide6.QtCore import Qt

from app.core.backends.api import ApiBackend
from app.core.backends.base import GenerationOptions
from app.core.backends.dialects import DIALECTS, MB
from app.core.backends.models import CLOUD_VISION_MODELS, is_vision_model, offered_models
from app.core.conversation import Attachment, Conversation
from app.core.events import Done, Failed
from app.core.media.budget import check_message
from app.ui.settings_dialog import SettingsDialog
from tests.support.openai_server import JsonReply

CLOUD_LIST = ["glm-4.5", "glm-4.6", "glm-5v-turbo", "embedding-3", "glm-4.6v", "cogview-4", "glm-4.6v-flash"]


def test_the_clouds_offer_their_vision_models_from_the_list_and_the_table_when_it_is_not_heard():
    assert CLOUD_VISION_MODELS == ("glm-4.6v", "glm-4.6v-flash", "glm-4.6v-flashx", "glm-5v-turbo", "glm-4.5v")
    for preset in ("zai", "bigmodel"):
        assert offered_models(preset, None) == list(CLOUD_VISION_MODELS)
        assert offered_models(preset, CLOUD_LIST) == ["glm-4.6v", "glm-4.6v-flash", "glm-5v-turbo"]
        assert offered_models(preset, ["glm-4.7v-preview", "glm-4.6v"]) == ["glm-4.6v", "glm-4.7v-preview"]
        assert offered_models(preset, ["glm-4.5", "embedding-3"]) == list(CLOUD_VISION_MODELS)  # none is vision
    # A self-hosted server serves what it was started with: its list as it is.
    assert offered_models("vllm", ["zai-org/GLM-4.6V", "zai-org/GLM-4.6V"]) == ["zai-org/GLM-4.6V"]
    assert offered_models("vllm", None) == []
    assert [m for m in ("glm-4v-plus-0111", "glm-4.6", "glm-4.5-air", "GLM-4.5V") if is_vision_model(m)] == [
        "glm-4v-plus-0111",
        "GLM-4.5V",
    ]


def open_dialog(qtbot, window) -> SettingsDialog:
    dialog = SettingsDialog(window.settings, window.vault, window.tasks, window)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def items(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_the_model_field_offers_what_the_server_lists_and_the_known_models_without_it(qtbot, windows, openai_server):
    openai_server.models = ["zai-org/GLM-4.6V", "zai-org/GLM-4.6V-Flash"]
    window = windows()
    dialog = open_dialog(qtbot, window)
    qtbot.waitUntil(lambda: items(dialog.model) == openai_server.models, timeout=10000)
    assert dialog.model.text() == "glm-4.6v"  # what the settings have stays, whatever is offered
    assert dialog.model.source == "the server"
    # BigModel without a key is not asked: the known vision models are offered.
    dialog.preset.setCurrentIndex(dialog.preset.findData("bigmodel"))
    assert items(dialog.model) == list(CLOUD_VISION_MODELS) and dialog.model.source == "the known models"
    # With a key and the address of a server that answers, its vision models, picked from everything it lists.
    openai_server.models = CLOUD_LIST
    dialog.base_url.setText(openai_server.zai_url)
    qtbot.keyClicks(dialog.key, "test-key")
    qtbot.mouseClick(dialog.test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: items(dialog.model) == ["glm-4.6v", "glm-4.6v-flash", "glm-5v-turbo"], timeout=10000)
    assert "Connected" in dialog.test_result.text()
    dialog.model.setCurrentIndex(2)
    assert dialog.result_settings().model == "glm-5v-turbo"
    # A server that does not list models leaves the known ones.
    openai_server.models_reply = JsonReply(404, {"error": {"message": "no such route"}})
    qtbot.mouseClick(dialog.test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "404" in dialog.test_result.text(), timeout=10000)
    qtbot.wait(300)
    assert items(dialog.model) == list(CLOUD_VISION_MODELS)
    dialog.reject()


def squares(tmp_path, count: int) -> list[Attachment]:
    paths = []
    for i in range(count):
        path = tmp_path / f"s{i}.png"
        Image.new("RGB", (64, 64), (i * 4 % 255, 80, 160)).save(path)
        paths.append(Attachment(path))
    return paths


def test_bigmodel_takes_fifty_images_a_request_and_zai_more(openai_server, tmp_path):
    assert (DIALECTS["bigmodel"].max_images, DIALECTS["zai"].max_images) == (50, 150)
    for dialect in ("bigmodel", "zai"):
        assert DIALECTS[dialect].max_image_side == 6000
        assert DIALECTS[dialect].max_image_bytes is not None and DIALECTS[dialect].max_image_bytes * 4 / 3 < 5 * MB
    attachments = squares(tmp_path, 51)
    bigmodel = ApiBackend("bigmodel", base_url=openai_server.zai_url, model="glm-4.6v", api_key="k")
    events = list(bigmodel.stream(Conversation().ask("Which differ?", attachments), GenerationOptions()))
    assert isinstance(events[-1], Failed) and events[-1].kind == "input"
    assert "51 images but BigModel accepts at most 50" in events[-1].message
    assert openai_server.chat_requests == [], "nothing was sent"
    zai = ApiBackend("zai", base_url=openai_server.zai_url, model="glm-4.6v", api_key="k")
    assert isinstance(list(zai.stream(Conversation().ask("Which differ?", attachments), GenerationOptions()))[-1], Done)
    # The window's budget line says so before sending, from the same limit.
    from app.core.media import prepare

    reports = [prepare(a, bigmodel.media_target) for a in attachments]
    budget = check_message(reports, "", bigmodel.media_target, max_images=bigmodel.capabilities.max_images)
    assert any("50" in warning for warning in budget.warnings), budget.warnings
