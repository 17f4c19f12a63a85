"""Named run profiles: every notebook takes its sizes from one of these presets.

    >>> from qa_helpers import config
    >>> cfg = config.load("smoke", seed=7)
    >>> cfg.n_pretrain_users
    200

`load` rejects unknown profile names and unknown override keys with an error that lists the valid ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Profile:
    """Sizes and seeds for one run of the notebook series."""

    name: str
    seed: int = 0

    # --- the synthetic world (notebook 01) ---
    n_pretrain_users: int = 4000   # UserU users; disjoint from the downstream users
    n_downstream_users: int = 4000  # users with task labels, split later into probe train / test
    window_days: int = 90          # history window, as in the paper
    future_days: int = 30          # prediction window for D_future answers and task labels (paper: not given)
    n_tabular: int = 24            # F, the tabular width (paper code: 1711); 14 informative + 10 noise columns
    activity_scale: float = 1.0    # multiplies every modality's event rate; the full profile uses longer logs

    # --- UserU (notebook 01) ---
    uqa_topics_per_user: int = 10  # top-k life topics per user, as in the paper
    draft_error_rate: float = 0.25  # chance a drafted claim is wrong, for the reflection step to catch

    # --- where outputs go ---
    figures_dir: str = ""          # empty: figures/ for the default profile, artifacts/<name>/figures otherwise

    def figures_path(self) -> Path:
        """Folder for PNG + JSON sidecars and the metrics JSON of this profile."""
        if self.figures_dir:
            return Path(self.figures_dir)
        if self.name == "default":
            return REPO_ROOT / "figures"
        return REPO_ROOT / "artifacts" / self.name / "figures"

    def artifacts_path(self) -> Path:
        """Git-ignored folder for caches and executed notebooks of this profile."""
        return REPO_ROOT / "artifacts" / self.name

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PROFILES: dict[str, Profile] = {
    # Touches every code path in well under 5 minutes for the whole series on 2 CPU cores.
    "smoke": Profile(name="smoke", n_pretrain_users=200, n_downstream_users=300),
    # The committed figures and numbers; the whole series in under 30 minutes on 2 CPU cores.
    "default": Profile(name="default"),
    # One GPU: a larger world with longer logs, closer to the paper's sequence lengths.
    "full": Profile(name="full", n_pretrain_users=40000, n_downstream_users=20000, activity_scale=2.0),
}

_FIELDS = {f.name for f in dataclasses.fields(Profile)}


def load(profile: str = "default", **overrides) -> Profile:
    """Return the named profile with `overrides` applied (keys must be Profile fields)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    unknown = sorted(set(overrides) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown profile setting(s) {unknown}; valid settings: {sorted(_FIELDS - {'name'})}")
    if "name" in overrides:
        raise ValueError("the profile name cannot be overridden; pass it as the first argument")
    return dataclasses.replace(PROFILES[profile], **overrides)
