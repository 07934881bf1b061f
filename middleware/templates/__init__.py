"""Style templates: the designer's TOML packs, validated into a `TemplatePack`.

`middleware.templates.loader.load_pack` reads a pack folder; `model` holds the resolved,
immutable form every other module reads. The format is documented in docs/templates.md.
"""
