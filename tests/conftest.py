"""Shared test configuration: quiet logs, Agg plotting, and a hypothesis profile for CI."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

# Deadlines make Keras tests flaky (first calls trace and compile); the example count keeps the
# whole suite within a few minutes on two cores.
settings.register_profile(
    "kbook",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "kbook"))
