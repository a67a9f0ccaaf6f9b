import os

from hypothesis import HealthCheck, settings

# CI runs each property test with a fixed budget; HYPOTHESIS_PROFILE=thorough digs deeper.
settings.register_profile(
    "default", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

pytest_plugins = ["pytester"]  # runs small pytest sessions, to test our pytest plugin
