"""The `ostinato` command line.

Commands are imported lazily (only the one you run), so `ostinato serve` on a warm cache
never imports torch. Each command lives in its own module; register it in `COMMANDS`.
"""

from __future__ import annotations

import importlib
import sys

import click

from engine_core.errors import OstinatoError

#: command name -> "module:attribute" of a click command
COMMANDS: dict[str, str] = {
    "validate": "middleware.cli.templates_cmd:validate",
    "templates": "middleware.cli.templates_cmd:templates",
    "generate": "middleware.cli.generate_cmd:generate",
    "compose": "middleware.cli.compose_cmd:compose",
    "build-data": "middleware.cli.model_cmd:build_data",
    "eval-model": "middleware.cli.model_cmd:eval_model",
    "eval-prompts": "middleware.cli.prompt_eval_cmd:eval_prompts",
    "model": "middleware.cli.provenance_cmd:model",
    "cache": "middleware.cli.cache_cmd:cache",
    "pregen": "middleware.cli.pregen_cmd:pregen",
    "render-session": "middleware.cli.session_cmd:render_session",
    "serve": "middleware.cli.serve_cmd:serve",
    "bake": "middleware.cli.bake_cmd:bake",
    "eval-music": "middleware.cli.music_cmd:eval_music",
    "eval-motifs": "middleware.cli.motif_cmd:eval_motifs",
    "new": "middleware.cli.new_cmd:new",
    "studio": "middleware.cli.studio_cmd:studio",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=LazyGroup)
@click.version_option(package_name="ostinato")
def cli() -> None:
    """Ostinato: adaptive game music from style templates."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the CLI and turns `OstinatoError`s into a message and an exit code."""
    try:
        exit_code = cli.main(args=argv, standalone_mode=False)
    except OstinatoError as error:
        click.echo(f"error [{error.code}]: {error.message}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    # With standalone_mode=False click returns the code of `ctx.exit(n)` instead of exiting.
    if isinstance(exit_code, int) and exit_code:
        sys.exit(exit_code)


if __name__ == "__main__":
    main()
