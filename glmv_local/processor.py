"""The checkpoint's processor, with an image-only fallback where torchvision is missing.

GLM-4.6V's processor insists on a video processor, and the video processor needs torchvision. CPU-only torch
installs (CI, developer laptops) have no usable torchvision, so ``AutoProcessor`` fails there with "Can't load
video processor". Images need only the PIL image processor and the tokenizer, so without torchvision the
processor is assembled from those two and video is refused with a message naming what to install.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from glmv_local.errors import MissingDependency, ModelFilesError

VIDEO_NEEDS = (
    "Video input needs torchvision, which is not installed (or does not load) here. Install the torchvision "
    "build that matches your torch (https://pytorch.org/get-started/locally/), or attach the video's frames as "
    "images."
)


@functools.cache
def has_torchvision() -> bool:
    """A real import: ``is_torchvision_available()`` only looks for the package, and a torchvision built for
    another torch is found but breaks on import."""
    try:
        import torchvision  # noqa: F401
    except Exception:
        return False
    return True


def image_only_processor_class() -> type:
    """Glm46VProcessor without its video processor (created on first use: it needs transformers)."""
    from transformers import ProcessorMixin
    from transformers.models.glm46v.processing_glm46v import Glm46VProcessor

    class ImageOnlyGlm46VProcessor(Glm46VProcessor):
        """Images and text only; everything else (placeholder expansion, mm_token_type_ids) is the real
        Glm46VProcessor's."""

        def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: str | None = None):
            self.image_token = getattr(tokenizer, "image_token", None) or "<|image|>"
            self.video_token = getattr(tokenizer, "video_token", None) or "<|video|>"
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)
            self.video_start_id = tokenizer.convert_tokens_to_ids("<|begin_of_video|>")
            self.video_end_id = tokenizer.convert_tokens_to_ids("<|end_of_video|>")

    return ImageOnlyGlm46VProcessor


def load_processor(path: Path, *, min_pixels: int | None = None, max_pixels: int | None = None) -> Any:
    """The processor for the checkpoint in ``path`` with its pixel budget optionally changed."""
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    try:
        if has_torchvision():
            processor = AutoProcessor.from_pretrained(path)
        else:
            tokenizer = AutoTokenizer.from_pretrained(path)
            image_processor = AutoImageProcessor.from_pretrained(path, backend="pil")
            template = _chat_template(path, tokenizer)
            processor = image_only_processor_class()(image_processor, tokenizer, chat_template=template)
    except (OSError, ValueError, KeyError) as e:
        raise ModelFilesError(f"{path}: the processor files cannot be read ({e}). Download the model again.") from e
    if not hasattr(processor, "image_processor") or getattr(processor, "chat_template", None) is None:
        raise ModelFilesError(
            f"{path}: this checkpoint has no image processor or chat template; it is not a GLM-V model "
            "(expected e.g. zai-org/GLM-4.6V-Flash)."
        )
    set_pixel_budget(processor, min_pixels=min_pixels, max_pixels=max_pixels)
    return processor


def _chat_template(path: Path, tokenizer: Any) -> str | None:
    jinja = path / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    return getattr(tokenizer, "chat_template", None)


def set_pixel_budget(processor: Any, *, min_pixels: int | None, max_pixels: int | None) -> None:
    """Images are scaled into [min_pixels, max_pixels] before patching: a smaller maximum means fewer image
    tokens (faster, less memory) and less detail."""
    if min_pixels is None and max_pixels is None:
        return
    current = processor.image_processor.size
    size = {"shortest_edge": current["shortest_edge"], "longest_edge": current["longest_edge"]}
    if min_pixels is not None:
        size["shortest_edge"] = int(min_pixels)
    if max_pixels is not None:
        size["longest_edge"] = int(max_pixels)
    if size["shortest_edge"] > size["longest_edge"]:
        raise ValueError(f"max_pixels {size['longest_edge']} is below the minimum {size['shortest_edge']}")
    processor.image_processor.size = size


def pixel_budget(processor: Any) -> tuple[int, int]:
    size = processor.image_processor.size
    return int(size["shortest_edge"]), int(size["longest_edge"])


def supports_video(processor: Any) -> bool:
    return getattr(processor, "video_processor", None) is not None


def require_video(processor: Any) -> None:
    if not supports_video(processor):
        raise MissingDependency(VIDEO_NEEDS)
