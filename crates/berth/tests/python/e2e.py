"""Shared by the SDK scripts: the client and the names the Rust harness passes in."""

import os

import docker

TOKEN = os.environ["E2E_TOKEN"]
IMAGE = os.environ["E2E_IMAGE"]
CONFIGURED = os.environ["E2E_CONFIGURED"]
# "--network NAME" for a bridge network, or empty for the engine's default bridge.
BRIDGE = os.environ.get("E2E_BRIDGE") or None


def client():
    # DOCKER_HOST comes from the environment; the API version is negotiated.
    return docker.from_env(timeout=60)


def name(what):
    return f"{TOKEN}-{what}"


def check(condition, message):
    """An assertion that survives python -O."""
    if not condition:
        raise AssertionError(message)
