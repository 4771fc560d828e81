"""Lints the repository's GitHub Actions files beyond what actionlint reads.

actionlint (run by .ci/run on .github/workflows/) checks the workflows, and the inputs a
workflow passes to the local action (`uses: ./`) against action.yml, but not action.yml's own
steps. This checks action.yml as a composite action: the metadata GitHub requires, every input
and output described, every `${{ inputs.X }}` and `steps.Y` it names defined, no expression
inside a `run:` script (inputs reach scripts through `env:`, never pasted into shell), a
`shell:` on every `run:` step, and each script through ShellCheck. Usage:
python3 .ci/lint-actions.py action.yml (with PyYAML and shellcheck on PATH).
"""

import re
import subprocess
import sys

import yaml

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        action = yaml.safe_load(f)
    errors: list[str] = []

    def error(message: str) -> None:
        errors.append(f"{path}: {message}")

    for key in ("name", "description", "runs"):
        if not action.get(key):
            error(f"missing `{key}`")
    inputs = action.get("inputs") or {}
    outputs = action.get("outputs") or {}
    for kind, table in (("input", inputs), ("output", outputs)):
        for name, spec in table.items():
            if not (spec or {}).get("description"):
                error(f"{kind} `{name}` has no description")
    for name, spec in inputs.items():
        if "default" in spec and not isinstance(spec["default"], str):
            error(f"input `{name}`: the default must be a string (GitHub passes strings)")
    runs = action.get("runs") or {}
    if runs.get("using") != "composite":
        error("runs.using must be `composite`")
    steps = runs.get("steps") or []
    ids = [step["id"] for step in steps if "id" in step]
    if len(ids) != len(set(ids)):
        error("step ids repeat")

    def check_expressions(where: str, text: str, seen_ids: list[str], bare: bool = False) -> None:
        # `if:` is an expression even without `${{ }}`.
        expressions = EXPRESSION.findall(text) or ([text] if bare else [])
        for expression in expressions:
            for name in re.findall(r"\binputs\.([A-Za-z0-9_-]+)", expression):
                if name not in inputs:
                    error(f"{where}: `inputs.{name}` is not an input")
            for name in re.findall(r"\bsteps\.([A-Za-z0-9_-]+)", expression):
                if name not in seen_ids:
                    error(f"{where}: `steps.{name}` is not an earlier step's id")

    for name, spec in outputs.items():
        check_expressions(f"output `{name}`", str(spec.get("value", "")), ids)

    for index, step in enumerate(steps):
        where = f"step {index + 1} ({step.get('name', 'unnamed')})"
        earlier = [s["id"] for s in steps[:index] if "id" in s]
        if not step.get("name"):
            error(f"{where}: no name")
        if ("run" in step) == ("uses" in step):
            error(f"{where}: needs exactly one of `run` and `uses`")
        for key, value in step.items():
            text = value if isinstance(value, str) else yaml.safe_dump(value)
            check_expressions(f"{where}, {key}", text, earlier, bare=key == "if")
        if "run" not in step:
            continue
        if step.get("shell") != "bash":
            error(f"{where}: `shell: bash` is required on a run step")
        script = step["run"]
        if EXPRESSION.search(script):
            error(f"{where}: an expression inside `run:`; pass it through `env:`")
            continue
        checked = subprocess.run(
            ["shellcheck", "--shell=bash", "--severity=style", "-"],
            input=script,
            text=True,
            capture_output=True,
            check=False,
        )
        if checked.returncode != 0:
            error(f"{where}: ShellCheck:\n{checked.stdout}{checked.stderr}")

    verify = next((step for step in steps if step.get("id") == "verify"), None)
    if verify is None:
        error("no step with id `verify`")
    else:
        errors.extend(f"{path}: verify step: {e}" for e in exercise(verify["run"]))

    for message in errors:
        print(message, file=sys.stderr)
    if not errors:
        print(f"{path}: {len(steps)} steps, {len(inputs)} inputs, {len(outputs)} outputs: ok")
    return 1 if errors else 0


def exercise(script: str) -> list[str]:
    """Runs the verify step's script with a stand-in harness that records its arguments and
    exits 1, and checks the command line each input gives and the outputs it writes."""
    import os
    import tempfile

    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        stub = os.path.join(tmp, "harness")
        with open(stub, "w", encoding="utf-8") as f:
            f.write('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$ARGS_FILE"\nexit 1\n')
        os.chmod(stub, 0o755)
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HARNESS": stub,
            "ARGS_FILE": os.path.join(tmp, "args"),
            "GITHUB_ACTION_PATH": "/action",
            "LIBRARY": "plugins",
            "CORPUS": "",
            "SCHEMAS": "",
            "STRICT": "false",
            "CHANGED": "",
            "PLUGINS": "",
            "EXTRA_ARGS": "",
            "OUT": "target/harness",
        }
        cases = [
            ({}, 0, ["verify", "--library", "plugins", "--corpus", "/action/corpus",
                     "--schemas", "/action/schemas", "--out", "target/harness"]),
            ({"STRICT": "true", "CHANGED": "origin/main", "CORPUS": "my corpus",
              "EXTRA_ARGS": "--partition\n1/2\n", "PLUGINS": "plugins/a b\nplugins/c"},
             0, ["verify", "--library", "plugins", "--corpus", "my corpus", "--schemas",
                 "/action/schemas", "--out", "target/harness", "--strict", "--changed",
                 "origin/main", "--partition", "1/2", "plugins/a b", "plugins/c"]),
            ({"STRICT": "yes"}, 2, None),
        ]
        for overrides, status, expected in cases:
            env = dict(base, **overrides, GITHUB_OUTPUT=os.path.join(tmp, "output"))
            open(env["GITHUB_OUTPUT"], "w").close()
            if os.path.exists(env["ARGS_FILE"]):
                os.remove(env["ARGS_FILE"])
            ran = subprocess.run(["bash", "-e", "-c", script], env=env, cwd=tmp,
                                 capture_output=True, text=True, check=False)
            if ran.returncode != status:
                failures.append(f"{overrides}: exit {ran.returncode}, expected {status}: {ran.stdout}{ran.stderr}")
                continue
            if expected is None:
                continue
            with open(env["ARGS_FILE"], encoding="utf-8") as f:
                got = f.read().splitlines()
            if got != expected:
                failures.append(f"{overrides}: ran harness {got}, expected {expected}")
            with open(env["GITHUB_OUTPUT"], encoding="utf-8") as f:
                output = f.read()
            if "exit-code=1\n" not in output or "report-html=target/harness/report.html\n" not in output:
                failures.append(f"{overrides}: outputs {output!r}")
    return failures


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "action.yml"))
