"""Tests for relutopo.papers.liu.resnet: torchvision-compatible ResNet-50 without torchvision."""

import math

import pytest
import torch

from relutopo.hooks import activation_bits
from relutopo.papers.liu.resnet import WeightsError, resnet50


@pytest.fixture(scope="module")
def model():
    return resnet50(seed=0)


def _torchvision_resnet50_keys():
    """torchvision.models.resnet50().state_dict() keys, written out from its documented layout."""
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    keys = ["conv1.weight"] + [f"bn1.{s}" for s in bn]
    for stage, blocks in enumerate((3, 4, 6, 3), start=1):
        for b in range(blocks):
            p = f"layer{stage}.{b}"
            for i in (1, 2, 3):
                keys.append(f"{p}.conv{i}.weight")
                keys += [f"{p}.bn{i}.{s}" for s in bn]
            if b == 0:
                keys.append(f"{p}.downsample.0.weight")
                keys += [f"{p}.downsample.1.{s}" for s in bn]
    return keys + ["fc.weight", "fc.bias"]


def test_state_dict_matches_torchvision_layout(model):
    sd = model.state_dict()
    assert list(sd) == _torchvision_resnet50_keys()
    assert len(sd) == 320
    # torchvision documents 25,557,032 parameters for resnet50
    assert sum(p.numel() for p in model.parameters()) == 25_557_032
    shapes = {"conv1.weight": (64, 3, 7, 7), "layer1.0.downsample.0.weight": (256, 64, 1, 1),
              "layer2.0.conv1.weight": (128, 256, 1, 1), "layer2.0.conv2.weight": (128, 128, 3, 3),
              "layer3.5.conv3.weight": (1024, 256, 1, 1), "layer4.2.bn3.running_var": (2048,),
              "fc.weight": (1000, 2048), "fc.bias": (1000,)}
    for k, s in shapes.items():
        assert tuple(sd[k].shape) == s, k
    assert not model.training


def _relu_bits_closed_form(size):
    """Number of ReLU outputs of ResNet-50 on a size x size input (v1.5: stride on the 3x3 conv)."""
    def down(s, k, stride, pad):
        return (s + 2 * pad - k) // stride + 1
    s = down(size, 7, 2, 3)
    total = 64 * s * s
    s = down(s, 3, 2, 1)  # max pool
    for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for b in range(blocks):
            st = stride if b == 0 else 1
            s2 = down(s, 3, st, 1)
            total += planes * s * s + planes * s2 * s2 + 4 * planes * s2 * s2
            s = s2
    return total


@pytest.mark.parametrize("size", [32, 224])
def test_relu_calls_and_bit_count(model, size):
    x = torch.zeros(1, 3, size, size)
    ab = activation_bits(model, x)
    assert len(ab.calls) == 1 + 3 * (3 + 4 + 6 + 3)
    assert ab.n_bits == _relu_bits_closed_form(size)
    if size == 224:
        assert ab.n_bits == 9_608_704
    # every Bottleneck's relu is called three times, in order
    assert [c.call for c in ab.calls if c.name == "layer3.4.relu"] == [0, 1, 2]


def test_seeded_initialisation(model):
    again = resnet50(seed=0)
    other = resnet50(seed=1)
    w = model.state_dict()["layer4.0.conv2.weight"]
    assert torch.equal(w, again.state_dict()["layer4.0.conv2.weight"])
    assert not torch.equal(w, other.state_dict()["layer4.0.conv2.weight"])
    # Kaiming normal, fan_out mode: std sqrt(2 / (512 * 3 * 3)); 2.4M draws -> ~0.05% error
    expected = math.sqrt(2.0 / (512 * 9))
    assert abs(float(w.std()) / expected - 1) < 0.01
    assert abs(float(w.mean())) < 0.01 * expected
    bn = model.layer2[1].bn2
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, 1000) and torch.isfinite(out).all()


def test_load_torchvision_style_checkpoints(tmp_path, model):
    src = resnet50(seed=7)
    plain = tmp_path / "resnet50-plain.pth"
    torch.save(src.state_dict(), plain)
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in src.state_dict().items()}}, wrapped)
    for path in (plain, wrapped):
        loaded = resnet50(weights_path=path, seed=0)
        for k, v in src.state_dict().items():
            assert torch.equal(loaded.state_dict()[k], v), k
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(resnet50(weights_path=plain)(x), src(x))


def test_bad_weights_give_clear_errors(tmp_path, model):
    with pytest.raises(WeightsError, match="is not a file"):
        resnet50(weights_path=tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read"):
        resnet50(weights_path=junk)
    sd = model.state_dict()
    missing = dict(sd)
    del missing["layer3.2.bn2.running_mean"]
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(WeightsError, match=r"missing keys: layer3\.2\.bn2\.running_mean"):
        resnet50(weights_path=tmp_path / "missing.pth")
    extra = dict(sd, **{"layer5.0.conv1.weight": torch.zeros(1)})
    torch.save(extra, tmp_path / "extra.pth")
    with pytest.raises(WeightsError, match=r"unexpected keys: layer5\.0\.conv1\.weight"):
        resnet50(weights_path=tmp_path / "extra.pth")
    wrong = dict(sd, **{"fc.weight": torch.zeros(10, 2048), "fc.bias": torch.zeros(10)})
    torch.save(wrong, tmp_path / "wrong.pth")
    with pytest.raises(WeightsError, match=r"shape mismatch: fc\.bias \(10,\)"):
        resnet50(weights_path=tmp_path / "wrong.pth")
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="does not hold a state_dict"):
        resnet50(weights_path=tmp_path / "list.pth")
    with pytest.raises(TypeError, match="seed"):
        resnet50(seed=1.5)
