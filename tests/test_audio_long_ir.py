"""IRs of seconds: the non-uniformly partitioned convolver (head + tail segments) is exact, its swaps are
click-free and end in the new IR's exact output, and a four-source player with 3 s IRs mixes correctly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from audio_helpers import stream

from naf_model.audio import MAIN, MAX_IR_SECONDS, BinauralPlayer, PartitionedConvolver
from naf_model.audio.convolver import with_new_head
from naf_model.audio.segments import crossfade_ramp, plan_segments

RATE = 48_000


def room_ir(seconds: float, seed: int, rate: int = RATE, t60: float | None = None) -> np.ndarray:
    """(2, n) binaural IR: a direct click, then noise decaying 60 dB over `t60` (default: the IR's length)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    ir = rng.standard_normal((2, n)) * 10 ** (-3 * t / (t60 or seconds)) * 0.05
    ir[:, 30 + seed] += (1.0, 0.6)
    return ir


def exact(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """(frames + N - 1, 2): the mono input (frames, 1) convolved with each ear's IR, in float64."""
    return np.stack([scipy.signal.fftconvolve(x[:, 0], ir[ear]) for ear in range(2)], 1)


def settled(conv: PartitionedConvolver, ir: np.ndarray) -> PartitionedConvolver:
    conv.post(ir)
    for _ in range(conv.crossfade_blocks):
        conv.process(np.zeros((conv.block_size, conv.in_channels)), np.zeros((conv.block_size, 2)))
    return conv


def test_layout_covers_the_limit_with_few_partitions_and_each_segment_starts_at_twice_its_partition():
    for block in (16, 64, 256, 300, 512, 1024):
        for taps in (1, 1000, 66_150, 384_000):
            head, tail = plan_segments(block, taps)
            start = head * block
            for seg in tail:
                assert seg.start == start == 2 * seg.partition and seg.partition % block == 0
                assert seg.partition // block >= 8 and seg.count >= 1
                start = seg.end
            assert start >= taps and start - taps < (tail[-1].partition if tail else block)
    head, tail = plan_segments(512, int(MAX_IR_SECONDS * RATE))
    assert head + sum(s.count for s in tail) < 100  # 750 partitions of 512 in a uniform convolver


def test_engine_limit_is_the_simulator_cap():
    from naf_model.simulate.ir_length import MAX_IR_SECONDS as SIMULATOR_CAP

    assert MAX_IR_SECONDS == SIMULATOR_CAP
    assert PartitionedConvolver(512, 1).max_taps >= SIMULATOR_CAP * RATE
    player = BinauralPlayer(np.zeros((1024, 1)), RATE, 512)
    player.post_ir(room_ir(MAX_IR_SECONDS, 0))  # the longest IR a scene asks for plays


@pytest.mark.parametrize(("seconds", "rate", "block", "channels"), [
    (0.1, RATE, 512, 1), (3.0, RATE, 512, 1), (8.0, RATE, 512, 1),
    (3.0, 22_050, 64, 2),  # three tail levels (2,048, 16,384 and the rest), stereo input channel-wise
    (1.0, 44_100, 300, 1),  # a block that is no power of two: partitions of 9,600
    (2.0, 48_000, 1024, 1),  # the largest block the app allows: a head of 32 blocks
])
def test_long_ir_output_equals_the_exact_convolution(seconds: float, rate: int, block: int, channels: int):
    ir = room_ir(seconds, 1, rate)
    conv = settled(PartitionedConvolver(block, channels, max_taps=ir.shape[1], phase=3), ir)
    x = np.random.default_rng(2).standard_normal((ir.shape[1] + 5 * block, channels))
    out = stream(conv, np.concatenate([x, np.zeros((ir.shape[1], channels))]))
    ref = np.stack([scipy.signal.fftconvolve(x[:, min(ear, channels - 1)], ir[ear]) for ear in range(2)], 1)
    peak = np.max(np.abs(ref))
    assert np.max(np.abs(out[: len(ref)] - ref)) <= 1e-5 * peak  # every block, head and tail
    assert np.max(np.abs(out[len(ref) :]), initial=0.0) <= 1e-5 * peak


def part_outputs(conv: PartitionedConvolver, x: np.ndarray, ir: np.ndarray) -> list[np.ndarray]:
    """Exact outputs (frames, 2) of each part of `ir` that the convolver crossfades on its own: the head
    and each tail segment."""
    head = conv.block_size * plan_segments(conv.block_size, conv.max_taps)[0]
    edges = [0, head, *(seg.end for seg in conv.layout)]
    parts = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        piece = np.zeros_like(ir)
        piece[:, lo:hi] = ir[:, lo:hi]
        parts.append(exact(x, piece)[: len(x)])
    return parts


def step_bound(parts_a: list[np.ndarray], parts_b: list[np.ndarray], conv: PartitionedConvolver,
               freq: float) -> float:
    """Largest sample-to-sample step a click-free crossfade of sine outputs can make: each part's output
    is a sine of amplitude A (steady state), whose steps are at most 2 A sin(pi f / fs); while part p fades
    with weight w, its step is at most that of the larger of its two sines plus max|dw| (A_a + A_b)."""
    settled_from = len(parts_a[0]) // 2  # both IRs are full of sine there
    sine_step = 2 * np.sin(np.pi * freq / RATE)
    fades = [conv.block_size * conv.crossfade_blocks, *(seg.partition for seg in conv.layout)]
    bound = 0.0
    for a, b, n in zip(parts_a, parts_b, fades, strict=True):
        amp_a, amp_b = np.abs(a[settled_from:]).max(), np.abs(b[settled_from:]).max()
        bound += max(amp_a, amp_b) * sine_step + np.abs(np.diff(crossfade_ramp(n))).max() * (amp_a + amp_b)
    return bound


@pytest.mark.parametrize("freq", [110.0, 1000.0])
def test_swapping_long_irs_is_click_free_and_ends_in_the_new_irs_output(freq: float):
    """Two different 3 s IRs, then a long IR replaced by a short one and back: no step in the output beyond
    what the parts' own sines and ramps allow, and after `settle_blocks` the new IR's exact output."""
    block = 512
    irs = {"a": room_ir(3.0, 1), "b": 0.5 * room_ir(3.0, 2), "short": room_ir(0.1, 3), "a2": room_ir(3.0, 4)}
    conv = PartitionedConvolver(block, 1, max_taps=irs["a"].shape[1], phase=5)
    settle = conv.settle_blocks
    n_blocks = 420 + 4 * settle
    x = np.sin(2 * np.pi * freq * np.arange(n_blocks * block) / RATE)[:, None]
    swaps = {0: "a", 300: "b", 300 + settle + 5: "short", 300 + 2 * settle + 10: "a2"}
    assert 300 * block > irs["a"].shape[1]  # the first swap happens with the IR full of sine
    settled(conv, irs["a"])
    out = stream(conv, x, {i: irs[k] for i, k in swaps.items() if i})
    parts = {k: part_outputs(conv, x, ir) for k, ir in irs.items()}
    steady = {k: sum(p) for k, p in parts.items()}
    peak = np.abs(out).max()
    order = sorted(swaps)
    for before, at, after in zip(order[:-1], order[1:], [*order[2:], n_blocks], strict=True):
        old, new = swaps[before], swaps[at]
        # the output is the old IR's exactly until the swap and the new IR's once it has settled
        held = slice(at * block - 3 * block, at * block)
        assert np.max(np.abs(out[held] - steady[old][held])) <= 1e-5 * peak
        settled_at = (at + settle) * block
        after_fade = slice(settled_at, after * block)
        assert np.max(np.abs(out[after_fade] - steady[new][after_fade])) <= 1e-5 * peak
        region = slice(at * block - block, settled_at)
        limit = step_bound(parts[old], parts[new], conv, freq)
        assert np.max(np.abs(np.diff(out[region], axis=0))) <= limit * (1 + 1e-4)
        # the test can fail: cutting from one IR's output to the other's jumps beyond the bound
        cut = np.concatenate([steady[old][: at * block], steady[new][at * block :]])
        assert np.max(np.abs(np.diff(cut[at * block - 1 : at * block + 1], axis=0))) > limit
    assert conv.swaps == 4


def test_four_sources_with_3s_irs_mix_as_the_sum_of_their_convolutions():
    rate, block, n = 22_050, 256, 400  # 4.6 s: every source's tail segments run
    rng = np.random.default_rng(7)
    music = [0.1 * rng.standard_normal((block * n, 1 + k % 2)) for k in range(4)]
    irs = [room_ir(3.0, 10 + k, rate, t60=2.0) for k in range(4)]
    gains = [1.0, 0.5, 0.8, 1.3]
    keys = [MAIN, "emitter 2", "emitter 3", "emitter 4"]
    player = BinauralPlayer(music[0], rate, block)
    for key, m, g in zip(keys[1:], music[1:], gains[1:], strict=True):
        player.add_source(key, m, gain=g)
    for key, ir in zip(keys, irs, strict=True):
        player.post_ir(ir, key)
    player.gain = 0.05  # keeps the sum below the limiter's knee
    player.play()
    out = np.concatenate([player.render(np.zeros((block, 2))).copy() for _ in range(n)])
    env = np.ones(n * block)
    env[:block] = (np.arange(block) + 1.0) / block  # play() fades each source's music in over one block
    expected = np.zeros((n * block, 2))
    for m, ir, g in zip(music, irs, gains, strict=True):
        feed = m.mean(axis=1)[: n * block] * env
        expected += g * exact(feed[:, None], ir)[: n * block]
    expected *= 0.05
    assert np.abs(out).max() < 0.9
    assert player.convolver.layout  # the IRs reach the tail segments
    assert np.max(np.abs(out[block:] - expected[block:])) <= 1e-5 * np.abs(expected).max()


def test_the_audio_thread_lets_go_of_irs_but_the_next_post_frees_them():
    """IRs the head and the tail segments stop using are kept until the next `post`, so that their megabytes
    are freed in the posting thread, never in the audio callback."""
    import gc
    import weakref

    conv = PartitionedConvolver(512, 1, max_taps=int(3.0 * RATE))
    x = np.random.default_rng(3).standard_normal((512, 1))
    first = conv.post(room_ir(3.0, 1))
    gone = weakref.ref(first)
    del first
    conv.process(x, np.zeros((512, 2)))
    conv.post(room_ir(3.0, 2))
    for _ in range(conv.settle_blocks + 2):  # the head and the tail play the second IR alone
        conv.process(x, np.zeros((512, 2)))
    gc.collect()
    assert gone() is not None  # let go of by the audio thread, not freed there
    for _ in range(10 * conv.settle_blocks):  # playing on without posts keeps nothing more
        conv.process(x, np.zeros((512, 2)))
    assert len(conv._retired) <= 2
    conv.post(room_ir(0.1, 3))
    gc.collect()
    assert gone() is None


def test_after_a_silence_a_new_long_ir_plays_exactly_from_its_first_block():
    """Long IR, short IR, then silence long enough that nothing rings: an IR posted then (whatever block of
    the tail's cycle) is taken by the tail at once, so the music that follows is its exact convolution."""
    block = 512
    conv = PartitionedConvolver(block, 1, max_taps=int(3.0 * RATE), phase=2)
    rng = np.random.default_rng(5)
    stream(conv, rng.standard_normal((100 * block, 1)), {0: room_ir(3.0, 1), 70: room_ir(0.1, 2)})
    quiet = -(-(conv.layout[-1].end + 2 * conv.layout[-1].partition) // block) + 5
    assert np.abs(stream(conv, np.zeros((quiet * block, 1)))[-block:]).max() == 0.0
    new = room_ir(3.0, 3)
    settled(conv, new)  # posted mid-cycle: 11 blocks into the tail's 32-block cycle
    x = rng.standard_normal((100 * block, 1))
    out = stream(conv, x)
    ref = exact(x, new)[: len(out)]
    assert np.max(np.abs(out - ref)) <= 1e-5 * np.abs(ref).max()


def test_a_new_head_keeps_the_tail_and_transforms_like_the_whole_ir() -> None:
    conv = PartitionedConvolver(512, in_channels=1)
    a, b = conv.prepare(room_ir(3.0, 1)), room_ir(3.0, 2)
    mixed = with_new_head(a, b)
    whole_b = conv.prepare(b)
    assert np.array_equal(mixed.spectra, whole_b.spectra) and mixed.segments is a.segments
    assert mixed.n_taps == a.n_taps and mixed.layout == a.layout
    conv.post(mixed)  # the engine takes it as one of its own


def test_a_long_ir_posted_again_soon_renews_only_its_head_until_the_tail_is_due(monkeypatch) -> None:
    """LiveAudio.set_ir: within TAIL_REFRESH_S of its last whole IR a source's new long IR changes the head's
    partitions (resampled exactly as the whole IR would be) and keeps that IR's tail; later, the whole IR."""
    from naf_app.audio import live as live_module
    from naf_app.audio.live import TAIL_REFRESH_S, LiveAudio
    from naf_model.audio import AudioClip, resample_ir

    clock = [100.0]
    monkeypatch.setattr(live_module.time, "monotonic", lambda: clock[0])
    audio = LiveAudio(AudioClip(np.zeros((4096, 1), np.float32), 48_000), block_size=512, sample_rate=48_000)
    posted = []
    player = audio._player
    real_post = player.post_ir
    monkeypatch.setattr(player, "post_ir", lambda parts, source: posted.append(parts) or real_post(parts, source))
    irs = [room_ir(2.7, seed, rate=22_050) for seed in (1, 2, 3)]
    audio.set_ir(irs[0], 22_050)
    clock[0] += TAIL_REFRESH_S / 2
    audio.set_ir(irs[1], 22_050)
    clock[0] += TAIL_REFRESH_S
    audio.set_ir(irs[2], 22_050)
    conv = player.source(MAIN).convolver
    whole = [conv.prepare(resample_ir(ir, 22_050, 48_000)) for ir in irs]
    assert posted[1].segments is posted[0].segments and np.array_equal(posted[1].spectra, whole[1].spectra)
    for got, want in ((posted[0], whole[0]), (posted[2], whole[2])):  # whole IRs, tails included
        assert np.array_equal(got.spectra, want.spectra)
        assert all(np.array_equal(g, w) for g, w in zip(got.segments, want.segments, strict=True))
