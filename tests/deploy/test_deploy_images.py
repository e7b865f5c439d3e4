"""The multi-target Dockerfile, checked without a Docker engine.

Its `uv sync` commands run here as they are, offline, into a scratch venv per service: each
image must get its own entry points and nothing of the other services or of the dev tools.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from .conftest import CHART, REPO

pytestmark = pytest.mark.unit

DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
DOCKERFILE_CHECK = REPO / ".cache" / "infra" / "bin" / "dockerfile-check"
# image target -> (workspace package, console script)
TARGETS = {
    "api": ("integrations-api", "integrations-api"),
    "log-writer": ("integrations-log-writer", "integrations-log-writer"),
    "router": ("integrations-router", "integrations-router"),
    "webhook-sender": ("integrations-webhook-sender", "integrations-webhook-sender"),
    "queue-sender": ("integrations-queue-sender", "integrations-queue-sender"),
}
PACKAGES = sorted({package for package, _ in TARGETS.values()})
DEV_TOOLS = ("pytest", "mypy", "ruff", "yamllint")


def stages() -> dict[str, list[str]]:
    """Dockerfile instructions (continuations joined) by stage name."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    result: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if match:
            current = [line]
            result[match.group(2) or match.group(1)] = current
        else:
            current.append(line)
    return result


def project(package: str) -> dict[str, object]:
    for path in [*REPO.glob("libs/*/pyproject.toml"), *REPO.glob("services/*/pyproject.toml")]:
        data = tomllib.loads(path.read_text())["project"]
        if data["name"] == package:
            return dict(data)
    raise AssertionError(f"no workspace member {package}")


def uv_syncs(stage: list[str]) -> list[list[str]]:
    return [shlex.split(i[i.index("uv sync") :]) for i in stage if "uv sync" in i]


@pytest.mark.parametrize("target", TARGETS)
def test_deploy_image_target_is_unprivileged_healthchecked_and_lean(target: str) -> None:
    all_stages = stages()
    package, script = TARGETS[target]
    final = all_stages[target]
    assert final[0].split()[1] == "runtime"
    assert f'ENTRYPOINT ["{script}"]' in final
    assert any(i.startswith("HEALTHCHECK") and "/healthz" in i for i in final)
    copies = [i for i in final if i.startswith("COPY")]
    build = f"build-{package.removeprefix('integrations-')}"
    assert copies == [f"COPY --from={build} --chown=0:0 /app/.venv /app/.venv"]
    scripts = project(package)["scripts"]
    assert isinstance(scripts, dict)
    assert script in scripts
    for command in uv_syncs(all_stages[build]):
        assert {"--frozen", "--no-dev"} <= set(command)
        assert command[command.index("--package") + 1] == package


def test_deploy_runtime_user_matches_the_chart() -> None:
    runtime = stages()["runtime"]
    assert "USER 10001:10001" in runtime
    assert not any("uv" in i.split()[1:3] for i in runtime if i.startswith("COPY"))
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == 10001
    assert values["containerSecurityContext"]["runAsUser"] == 10001


def in_context(path: str) -> bool:
    """Whether .dockerignore lets `path` into the build context (the last match decides)."""
    included = True
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        else:
            hit = any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes)
        if hit:
            included = negated
    return included


def test_deploy_build_copies_every_workspace_member_and_dockerignore_keeps_them() -> None:
    build = " ".join(stages()["build"])
    members = [
        p.parent.relative_to(REPO)
        for p in [*REPO.glob("libs/*/pyproject.toml"), *REPO.glob("services/*/pyproject.toml")]
    ]
    for member in members:
        assert f"COPY {member}/pyproject.toml {member}/" in build, member
        assert in_context(f"{member}/pyproject.toml"), member
        sources = sorted((REPO / member / "src").rglob("*.py"))
        assert sources, member
        assert in_context(str(sources[0].relative_to(REPO))), member
    for needed in ("pyproject.toml", "uv.lock"):
        assert in_context(needed), needed
    for left_out in (
        ".venv/bin/python",
        ".git/HEAD",
        ".cache/infra/bin/helm",
        "services/api/tests/conftest.py",
        "deploy/docker/Dockerfile",
        "libs/common/src/integrations_common/__pycache__/kafka.cpython-311.pyc",
    ):
        assert not in_context(left_out), left_out


def _context(tmp_path: Path) -> Path:
    """The Docker build context as the Dockerfile sees it: manifests, lock, sources."""
    context = tmp_path / "src"
    context.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(REPO / name, context / name)
    for member in [*REPO.glob("libs/*"), *REPO.glob("services/*")]:
        if (member / "pyproject.toml").exists():
            target = context / member.relative_to(REPO)
            target.mkdir(parents=True)
            shutil.copy2(member / "pyproject.toml", target / "pyproject.toml")
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(member / "src", target / "src", ignore=ignore)
    return context


def uv_command() -> list[str]:
    """uv as `make install` finds it: on PATH, or as python3's module."""
    found = shutil.which("uv")
    if found:
        return [found]
    python3 = shutil.which("python3") or sys.executable
    probe = subprocess.run([python3, "-m", "uv", "--version"], capture_output=True, check=False)
    assert probe.returncode == 0, "uv is needed (make install provides it)"
    return [python3, "-m", "uv"]


@pytest.mark.parametrize("package", PACKAGES)
def test_deploy_image_venv_holds_only_its_service(tmp_path: Path, package: str) -> None:
    uv = uv_command()
    venv = tmp_path / "venv"
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_LINK_MODE": "copy",
        "UV_NO_PROGRESS": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    build = stages()[f"build-{package.removeprefix('integrations-')}"]
    context = _context(tmp_path)
    for command in uv_syncs(build):
        result = subprocess.run(
            [*uv, *command[1:], "--offline"],
            cwd=context,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    installed = {
        p.name.split("-")[0].lower() for p in venv.glob("lib/python*/site-packages/*.dist-info")
    }
    own = package.replace("-", "_")
    assert {own, "integrations_common"} <= installed
    others = {p.replace("-", "_") for p in PACKAGES} - {own}
    assert installed.isdisjoint(others | set(DEV_TOOLS))
    for target, (owner, script) in TARGETS.items():
        if owner == package:
            assert (venv / "bin" / script).exists(), target
    # Not editable: the venv must work once the build context is gone.
    shutil.rmtree(context)
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", f"import {own}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


@pytest.fixture(scope="session")
def dockerfile_check() -> Path:
    """BuildKit's Dockerfile lint (`docker build --check`), built from deploy/tools once."""
    result = subprocess.run(
        ["make", "-s", str(DOCKERFILE_CHECK.relative_to(REPO))],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"could not build dockerfile-check (needs Go):\n{result.stdout}{result.stderr}")
    return DOCKERFILE_CHECK


def test_deploy_dockerfile_passes_buildkit_checks(dockerfile_check: Path) -> None:
    result = subprocess.run(
        [str(dockerfile_check), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no findings" in result.stdout


def test_deploy_dockerfile_check_reports_findings(dockerfile_check: Path, tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11 as base\nENV A 1\nCMD python -m app\n")
    result = subprocess.run(
        [str(dockerfile_check), str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    for rule in ("FromAsCasing", "LegacyKeyValueFormat", "JSONArgsRecommended"):
        assert rule in result.stdout
