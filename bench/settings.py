"""Production settings with the baseline view added, served over plain HTTP on loopback."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
