"""Checkpoints on disk: complete ones load, missing/partial/corrupt ones are refused with a clear message, a Hub id
is found in a local directory laid out as the Hugging Face cache (no network), and the memory estimate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from glmv_local import checkpoint, download, memory
from glmv_local.engine import Engine
from glmv_local.errors import DownloadError, ModelFilesError, ModelNotFound, NotEnoughMemory
from tests.support.tiny_glmv import TEST_MAX_PIXELS, fake_cache

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sharded_dir(tmp_path_factory) -> Path:
    from glmv_local.synthetic import TINY, build_checkpoint

    return build_checkpoint(
        tmp_path_factory.mktemp("sharded") / "m", TINY, shard_size="300KB", max_pixels=TEST_MAX_PIXELS
    )


def copy(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / "copy"))


def test_a_complete_checkpoint_verifies(tiny_glmv_dir):
    ckpt = checkpoint.verify(tiny_glmv_dir)
    assert ckpt.weight_files == [tiny_glmv_dir / "model.safetensors"]
    assert 100_000 < ckpt.parameters < 1_000_000
    assert ckpt.config["model_type"] == "glm4v"


def test_missing_directory(tmp_path):
    with pytest.raises(ModelNotFound, match=r"no such directory"):
        checkpoint.verify(tmp_path / "nowhere")
    with pytest.raises(ModelNotFound, match=r"no such directory"):
        Engine(model=str(tmp_path / "nowhere")).load()


def test_directory_without_weights(tiny_glmv_dir, tmp_path):
    model = copy(tiny_glmv_dir, tmp_path)
    (model / "model.safetensors").unlink()
    with pytest.raises(ModelFilesError, match=r"no weights \(\*\.safetensors\)"):
        Engine(model=str(model)).load()


def test_directory_without_config(tiny_glmv_dir, tmp_path):
    model = copy(tiny_glmv_dir, tmp_path)
    (model / "config.json").unlink()
    with pytest.raises(ModelFilesError, match=r"no config.json"):
        checkpoint.verify(model)


def test_pickle_weights_are_refused(tiny_glmv_dir, tmp_path):
    model = copy(tiny_glmv_dir, tmp_path)
    (model / "model.safetensors").unlink()
    (model / "pytorch_model.bin").write_bytes(b"\x80\x04not loaded")
    with pytest.raises(ModelFilesError, match=r"safetensors only"):
        checkpoint.verify(model)


def test_truncated_weights_are_never_loaded(tiny_glmv_dir, tmp_path):
    model = copy(tiny_glmv_dir, tmp_path)
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1000])
    engine = Engine(model=str(model))
    with pytest.raises(ModelFilesError, match=r"truncated .* interrupted"):
        engine.load()
    assert not engine.is_loaded
    assert download.damaged_files(model) == [weights]


def test_garbage_safetensors_file(tiny_glmv_dir, tmp_path):
    model = copy(tiny_glmv_dir, tmp_path)
    (model / "model.safetensors").write_bytes(b"<html>Rate limited</html>" * 10)
    with pytest.raises(ModelFilesError, match=r"not a safetensors file|corrupt safetensors header"):
        checkpoint.verify(model)


def test_missing_shard_is_named(sharded_dir, tmp_path):
    index = json.loads((sharded_dir / checkpoint.INDEX).read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) >= 2
    assert len(checkpoint.verify(sharded_dir).weight_files) == len(shards)
    model = copy(sharded_dir, tmp_path)
    (model / shards[-1]).unlink()
    with pytest.raises(ModelFilesError, match=f"1 of {len(shards)} weight files missing \\({shards[-1]}\\)"):
        checkpoint.verify(model)


def test_not_a_glmv_model(tiny_glmv_dir, tmp_path):
    model = copy(tiny_glmv_dir, tmp_path)
    config = json.loads((model / "config.json").read_text())
    config["model_type"] = "llama"
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFilesError, match=r"not a GLM-V model"):
        Engine(model=str(model)).load()


def test_hub_id_found_in_the_cache_offline(sharded_dir, tmp_path, monkeypatch):
    snapshot = fake_cache(sharded_dir, tmp_path / "hub", "zai-org/Tiny-GLM-V")
    found = download.resolve("zai-org/Tiny-GLM-V", cache=tmp_path / "hub")
    assert found.path == snapshot
    engine = Engine(model="zai-org/Tiny-GLM-V", dtype="float32", check_memory=False)
    monkeypatch.setattr(download, "cache_dir", lambda explicit=None: tmp_path / "hub")
    assert engine.load().checkpoint.path == snapshot
    engine.unload()


def test_partial_cached_download_is_refused_offline(sharded_dir, tmp_path):
    snapshot = fake_cache(sharded_dir, tmp_path / "hub", "zai-org/Tiny-GLM-V")
    shard = sorted(snapshot.glob("*.safetensors"))[0]
    shard.resolve().unlink()  # the blob never finished: the snapshot link dangles
    with pytest.raises(ModelFilesError, match=r"missing.*Offline mode is on"):
        download.resolve("zai-org/Tiny-GLM-V", cache=tmp_path / "hub")


def test_uncached_hub_id_offline(tmp_path):
    with pytest.raises(ModelNotFound, match=r"not in the Hugging Face cache.*HF_HUB_OFFLINE=1"):
        download.resolve("zai-org/Not-Here", cache=tmp_path / "hub")


def test_local_paths_and_hub_ids_are_told_apart(tmp_path):
    assert download.is_local(str(tmp_path))
    assert download.is_local("./models/glm")
    assert download.is_local("/opt/models/glm")
    assert not download.is_local("zai-org/GLM-4.6V-Flash")


def test_disk_space_is_checked_before_downloading(tmp_path):
    download.check_disk_space(1024, tmp_path)
    with pytest.raises(DownloadError, match=r"1000000\.0 GB needed .* GB free at"):
        download.check_disk_space(10**15, tmp_path / "not" / "yet")


def flash_checkpoint() -> checkpoint.Checkpoint:
    from glmv_local.synthetic import FLASH, build_config, special_tokens

    config = build_config(FLASH, special_tokens(FLASH)).to_dict()
    return checkpoint.Checkpoint(path=Path("."), config=config, weight_files=[], parameters=10_290_000_000)


def test_kv_cache_per_token_read_from_the_config():
    ckpt = flash_checkpoint()
    assert memory.kv_bytes_per_token(ckpt.config) == 40 * 1024


def test_memory_estimate_and_advice():
    ckpt = flash_checkpoint()
    need = memory.estimate(ckpt, context_tokens=131072, max_pixels=9633792)
    assert 20e9 < need.weights < 21e9
    assert need.kv_cache == 5 * 1024**3
    four = memory.estimate(ckpt, quantization="4bit", context_tokens=131072)
    # The language model's linear layers in nf4; embeddings, lm_head and the vision tower stay bf16: ~8.9 GB.
    assert 8e9 < four.weights < 10e9
    memory.check_fits(need, 139 * 1024**3, device="cuda", checkpoint=ckpt, dtype="bfloat16")
    with pytest.raises(
        NotEnoughMemory, match=r"needs about .*GiB is free.*4-bit.*smaller context \(30720 tokens fit\)"
    ):
        memory.check_fits(need, 24 * 1024**3, device="cuda:0", checkpoint=ckpt, dtype="bfloat16")
