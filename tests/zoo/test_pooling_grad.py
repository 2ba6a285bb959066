"""The pooling mixer's gradients do not depend on the device or on the layout of its input.

CUDA's channels_last avg_pool2d backward with padding returned wrong gradients (torch 2.11 on an H200: a
PoolFormer trained to 39 % on digits instead of 83 %); the mixer pools a contiguous grid to stay off that kernel.
The CUDA comparison runs where a GPU is present (bench/cuda_check.py's "grads" check covers every preset)."""

import pytest
import torch

from app.zoo.mixers import Pooling


def _input_grad(device: str) -> torch.Tensor:
    torch.manual_seed(0)
    x = torch.randn(4, 49, 16, device=device, requires_grad=True)
    Pooling((7, 7), 3).to(device)(x).square().sum().backward()
    assert x.grad is not None
    return x.grad.cpu()


def test_pooling_gradient_matches_a_contiguous_reference_on_cpu() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 49, 16, requires_grad=True)
    grid = x.transpose(1, 2).reshape(4, 16, 7, 7).contiguous()
    pool = torch.nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    (pool(grid) - grid).flatten(2).transpose(1, 2).square().sum().backward()
    assert x.grad is not None
    torch.testing.assert_close(_input_grad("cpu"), x.grad)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_pooling_gradient_on_cuda_matches_cpu() -> None:
    torch.testing.assert_close(_input_grad("cuda"), _input_grad("cpu"), rtol=1e-4, atol=1e-5)
