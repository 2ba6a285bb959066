"""The weights store on a local folder and on a real S3-speaking server (moto's standalone server)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from app.weights.format import FORMAT, NotSafetensors, metadata, tensor_names
from app.weights.store import WeightsMissing, WeightStore, run_key
from workers.training.weights import load_weights, weights_bytes


def tiny_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))


def round_trip(store: WeightStore) -> None:
    model = tiny_model(0)
    data = weights_bytes(model, {"seed": "0", "spec_hash": "abc"})
    key = run_key(7)
    store.put(key, data)
    assert store.size(key) == len(data)
    assert b"".join(store.chunks(key, chunk_bytes=1000)) == data
    got = store.get(key)
    assert metadata(got) == {"format": FORMAT, "seed": "0", "spec_hash": "abc"}
    assert "3.weight" in tensor_names(got) and "1.running_mean" in tensor_names(got)
    other = tiny_model(1)
    assert not torch.equal(other[0].weight, model[0].weight)
    load_weights(other, got)
    for name, tensor in model.state_dict().items():
        assert torch.equal(other.state_dict()[name], tensor), name
    with pytest.raises(WeightsMissing) as missing:
        store.size(run_key(8))
    assert "/" not in str(missing.value)


def test_local_folder_round_trip(tmp_path: Path) -> None:
    store = WeightStore(str(tmp_path / "weights"))
    round_trip(store)
    assert sorted(p.name for p in (tmp_path / "weights" / "runs").iterdir()) == ["7.safetensors"]  # no drafts left


def test_s3_round_trip(s3_url: str, s3_endpoint: str) -> None:
    round_trip(WeightStore(s3_url, endpoint_url=s3_endpoint))


def test_keys_stay_inside_the_store(tmp_path: Path) -> None:
    store = WeightStore(str(tmp_path))
    for key in ("../x.safetensors", "/etc/passwd", "runs/../../x"):
        with pytest.raises(ValueError):
            store.put(key, b"x")


def test_weights_of_another_architecture_are_refused() -> None:
    data = weights_bytes(tiny_model(0), {})
    with pytest.raises(RuntimeError):
        load_weights(nn.Sequential(nn.Linear(3, 10)), data)
    with pytest.raises(NotSafetensors):
        metadata(b"\xff" * 16)
