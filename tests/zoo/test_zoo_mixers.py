"""Token mixers behave as their papers describe (beyond "it runs"): checked on tiny tensors."""

from __future__ import annotations

import torch

from app.zoo.mixers import Attention, DynamicDWConv, ExternalAttention, Pooling, WindowAttention


def test_window_covering_the_grid_is_global_attention() -> None:
    torch.manual_seed(0)
    win = WindowAttention(8, (4, 4), heads=2, window=7, shift=True, qkv_bias=True, rel_pos_bias=False)
    assert win.window == 4 and win.shift == 0  # clamped to the grid, no shift (as Swin)
    glob = Attention(8, heads=2, qkv_bias=True)
    glob.load_state_dict(win.state_dict())
    x = torch.randn(2, 16, 8)
    torch.testing.assert_close(win(x), glob(x))


def test_windows_do_not_mix_and_shift_mask_blocks_wrapped_tokens() -> None:
    torch.manual_seed(0)
    x = torch.randn(1, 16, 8)
    plain = WindowAttention(8, (4, 4), heads=2, window=2, shift=False, qkv_bias=True, rel_pos_bias=True)
    y = x.clone()
    y[0, 0] += 1.0  # token (0, 0) lives in the top-left 2×2 window
    changed = (plain(y) - plain(x)).abs().sum(-1)[0].view(4, 4) > 1e-6
    assert changed[:2, :2].all() and changed.sum() == 4

    shifted = WindowAttention(8, (4, 4), heads=2, window=2, shift=True, qkv_bias=True, rel_pos_bias=True)
    assert shifted.shift == 1
    changed = (shifted(y) - shifted(x)).abs().sum(-1)[0].view(4, 4) > 1e-6
    # rolled by 1, (0, 0) shares a window with (3, 3), (3, 0) and (0, 3) — but they were not neighbours,
    # so the mask keeps them apart: only (0, 0) itself changes.
    assert changed[0, 0] and changed.sum() == 1


def test_pooling_mixer_is_pool_minus_identity() -> None:
    pool = Pooling((3, 3), 3)
    x = torch.ones(1, 9, 4)
    assert pool(x).abs().max() == 0  # a constant map is a fixed point of average pooling


def test_external_attention_double_normalisation() -> None:
    torch.manual_seed(0)
    ea = ExternalAttention(8, heads=2, memory=5)
    q = ea.query(torch.randn(1, 6, 8)).view(1, 6, 2, 4).transpose(1, 2)
    attn = ea.mk(q).softmax(dim=-2)
    attn = attn / attn.sum(dim=-1, keepdim=True)
    torch.testing.assert_close(attn.sum(-1), torch.ones(1, 2, 6))
    assert ea.mk.weight.shape == (5, 4) and ea.mv.weight.shape == (4, 5)  # memories shared across heads


def test_dynamic_dwconv_kernels_depend_on_each_sample() -> None:
    torch.manual_seed(0)
    dyn = DynamicDWConv(4, (3, 3), kernel=3, reduction=2)
    a, b = torch.randn(1, 9, 4), torch.randn(1, 9, 4)
    batched = dyn(torch.cat([a, b]))
    torch.testing.assert_close(batched[:1], dyn(a))
    torch.testing.assert_close(batched[1:], dyn(b))


def test_windows_pad_grids_they_do_not_tile() -> None:
    """3×3 grid, 2×2 windows: padded to 4×4; token (2, 2) shares its window only with padding, so it attends
    only to itself."""
    torch.manual_seed(0)
    win = WindowAttention(8, (3, 3), heads=2, window=2, shift=False, qkv_bias=True, rel_pos_bias=True)
    assert win.padded == (4, 4)
    x = torch.randn(2, 9, 8)
    out = win(x)
    assert out.shape == (2, 9, 8) and torch.isfinite(out).all()
    v = win.qkv(x[:, 8])[:, 16:]  # the value of token (2, 2)
    torch.testing.assert_close(out[:, 8], win.proj(v))
    shifted = WindowAttention(8, (7, 7), heads=2, window=4, shift=True, qkv_bias=False, rel_pos_bias=True)
    assert shifted.shift == 2 and shifted.padded == (8, 8)
    assert torch.isfinite(shifted(torch.randn(1, 49, 8))).all()
