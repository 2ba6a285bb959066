"""The demo's baselines: one small model per token mixer (and CNNs) on each built-in benchmark, trained by
the 'archarena' user so the leaderboard has a reference from the first minute."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.benchmarks.registry import get_benchmark
from app.core.db.tables import Submission
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import BASELINE_USER, get_or_create_user
from app.zoo.presets import PRESETS

# In the order they are trained: a CNN, a ViT and a Mixer first, so the chart has all three families early.
DIGITS_BASELINES = (
    "tiny_resnet_digits",
    "tiny_vit_digits",
    "tiny_mixer_digits",
    "tiny_convformer_digits",
    "tiny_poolformer_digits",
    "tiny_swin_digits",
    "tiny_dynconv_digits",
    "tiny_eanet_digits",
    "tiny_identityformer_digits",
    "tiny_convmixer_digits",
    "tiny_plain_digits",
    "tiny_densenet_digits",
    "tiny_repvgg_digits",
    "tiny_repmlp_digits",
)
# 32×32 benchmarks: the small ``*_synth`` presets (see app/zoo/presets.py), sized to train one seed in about a
# minute on one CPU thread.
SYNTH32_BASELINES = (
    "tiny_resnet_synth",
    "tiny_vit_synth",
    "tiny_mixer_synth",
    "tiny_convformer_synth",
    "tiny_poolformer_synth",
    "tiny_identityformer_synth",
    "tiny_repmlp_synth",
)
# Fashion-MNIST (28×28): a CNN, a ViT and a Mixer first (3 seeds of those three finish in about 12-13 minutes
# of a 2-core CPU), then one MetaFormer per token mixer and the other CNNs.
FMNIST_BASELINES = (
    "tiny_resnet_fmnist",
    "tiny_vit_fmnist",
    "tiny_mixer_fmnist",
    "tiny_convformer_fmnist",
    "tiny_poolformer_fmnist",
    "tiny_swin_fmnist",
    "tiny_dynconv_fmnist",
    "tiny_eanet_fmnist",
    "tiny_identityformer_fmnist",
    "tiny_convmixer_fmnist",
    "tiny_plain_fmnist",
    "tiny_repmlp_32",
)
# In the order the demo queues them: digits (seconds per run), Fashion-MNIST (real images), then the 32×32 sets.
BASELINES: dict[str, tuple[str, ...]] = {
    "digits": DIGITS_BASELINES,
    "fashion_mnist": FMNIST_BASELINES,
    "pathfinder": SYNTH32_BASELINES,
    "shapes": SYNTH32_BASELINES,
}
"""The demo's baselines, per benchmark, in the order the demo seeds them."""
# Noise floor: one reference configuration per benchmark trained with many seeds (capped at the benchmark's
# max_seeds), so the spread of one fixed architecture is on the leaderboard next to the differences between
# architectures. Trained after all the baselines above.
# With the baselines they are the platform's reference entries: the board's frozen seed-noise reference is
# measured on them (app.entries.noise), never on submitters' entries.
REFERENCES: dict[str, tuple[str, int]] = {
    "digits": ("tiny_resnet_digits", 10),
    "pathfinder": ("tiny_resnet_synth", 6),
    "shapes": ("tiny_resnet_synth", 6),
}
REFERENCE_SUFFIX = " (noise-floor reference)"


def seed_baselines(
    session: Session, *, max_epochs: int | None, only: list[str] | None = None, benchmark: str | None = None
) -> list[Submission]:
    """Create the baseline and reference submissions (on ``benchmark``, or all) that do not exist yet (by name,
    per benchmark).

    Returns the new ones."""
    user = get_or_create_user(session, BASELINE_USER, is_admin=True)
    existing = set(
        session.execute(select(Submission.benchmark, Submission.name).where(Submission.user_id == user.id)).all()
    )
    todo: list[tuple[str, str, str, int | None]] = [
        (b, p, p, None) for b, presets in BASELINES.items() for p in presets
    ]
    todo += [(b, p, p + REFERENCE_SUFFIX, n) for b, (p, n) in REFERENCES.items()]
    created = []
    todo = [t for t in todo if benchmark is None or t[0] == benchmark]
    for slug, preset, name, seeds in todo:
        if preset not in PRESETS or (only and preset not in only) or (slug, name) in existing:
            continue
        if seeds is not None:
            seeds = min(seeds, get_benchmark(slug).max_seeds)
        body = SubmissionIn(
            benchmark=slug,
            name=name,
            spec={"preset": preset, "overrides": {}},
            description=(
                f"Baseline: the {preset} preset."
                if seeds is None
                else f"Noise-floor reference: the {preset} preset, {seeds} seeds."
            ),
            seeds=seeds,
        )
        submission = create_submission(session, user, body, max_epochs=max_epochs)
        submission.is_baseline = True
        created.append(submission)
    session.flush()
    return created
