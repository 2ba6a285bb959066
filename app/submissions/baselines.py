"""The demo's baselines: one small model per token mixer (and CNNs) on each built-in benchmark, trained by
the 'archarena' user so the leaderboard has a reference from the first minute."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.service import BASELINE_USER, get_or_create_user
from app.db.tables import Submission
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
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
)
BASELINES: dict[str, tuple[str, ...]] = {"digits": DIGITS_BASELINES}


def seed_baselines(session: Session, *, max_epochs: int | None, only: list[str] | None = None) -> list[Submission]:
    """Create the baseline submissions that do not exist yet (by name, per benchmark). Returns the new ones."""
    user = get_or_create_user(session, BASELINE_USER, is_admin=True)
    existing = set(
        session.execute(select(Submission.benchmark, Submission.name).where(Submission.user_id == user.id)).tuples()
    )
    created = []
    for benchmark, presets in BASELINES.items():
        for preset in presets:
            if preset not in PRESETS or (only and preset not in only) or (benchmark, preset) in existing:
                continue
            body = SubmissionIn(
                benchmark=benchmark,
                name=preset,
                spec={"preset": preset, "overrides": {}},
                description=f"Baseline: the {preset} preset.",
            )
            submission = create_submission(session, user, body, max_epochs=max_epochs)
            submission.is_baseline = True
            created.append(submission)
    session.flush()
    return created
