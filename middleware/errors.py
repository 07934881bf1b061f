"""Middleware errors, rooted at `engine_core.errors.OstinatoError` (one hierarchy)."""

from __future__ import annotations

from engine_core.errors import OstinatoError


class TemplateError(OstinatoError):
    """A template pack failed validation. `problems` lists every problem found, not just one."""

    code = "bad_template"
    exit_code = 1

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(p.format() for p in self.problems)
        super().__init__(
            f"{len(self.problems)} problem(s) in template pack:\n{lines}",
            {"problems": [p.to_json() for p in self.problems]},
        )


class TemplateProblem:
    """One validation problem: where it is (file, line, key), what is wrong, what is allowed."""

    def __init__(
        self,
        file: str,
        key: str,
        message: str,
        *,
        line: int | None = None,
        value: object = None,
        allowed: str | None = None,
        code: str | None = None,
    ) -> None:
        self.file = file
        self.code = code  # a stable problem code where one exists (e.g. motif problems)
        self.key = key
        self.message = message
        self.line = line
        self.value = value
        self.allowed = allowed

    def format(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = f"{where}: {self.key}: {self.message}"
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "key": self.key,
            "message": self.message,
            "value": repr(self.value) if self.value is not None else None,
            "allowed": self.allowed,
            **({"code": self.code} if self.code else {}),
        }

    def __repr__(self) -> str:
        return f"TemplateProblem({self.format()!r})"


class UnknownStateError(OstinatoError):
    code = "unknown_state"
    exit_code = 2


class UnknownStingerError(OstinatoError):
    code = "unknown_stinger"
    exit_code = 2


class PromptError(OstinatoError):
    """A prompt that cannot be read into music: empty, or contradicting itself."""

    code = "bad_prompt"
    exit_code = 2
