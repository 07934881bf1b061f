"""Run the addon's pure GDScript in Python: gdtoolkit parses a .gd file, this module turns
its static functions and constants into Python, so tests check the GDScript itself on
the same vectors the GDScript test suite uses in Godot (no Godot binary runs here).

Only the subset the addon's pure modules use is understood (static functions, constants,
preload of another pure module, arithmetic, comparisons, if/elif/else, while, for,
arrays, dictionaries and a few builtins); anything else raises `Untranslatable`. Godot's
semantics are kept where they differ from Python's: int / int truncates, `%` keeps the
dividend's sign, roundi() rounds half away from zero, and typed (`: int`, `: float`)
variables, arguments and returns are checked strictly: an `int` slot refuses a float,
so the GDScript must convert JSON numbers (floats in Godot) explicitly.
"""

from __future__ import annotations

import keyword
import math
import types
from pathlib import Path
from typing import Any

from lark import Token, Tree


class Untranslatable(Exception):
    """A construct outside the supported subset."""


def _gd_div(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b):
        quotient = abs(a) // abs(b)
        return quotient if (a >= 0) == (b >= 0) else -quotient
    return a / b


def _gd_mod(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b):
        return int(math.fmod(a, b))
    return math.fmod(a, b)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _typed(value: Any, type_name: str, where: str) -> Any:
    if type_name == "int" and not _is_int(value):
        raise TypeError(f"{where}: int slot given {value!r}")
    if type_name == "float":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError(f"{where}: float slot given {value!r}")
        return float(value)
    if type_name == "bool" and not isinstance(value, bool):
        raise TypeError(f"{where}: bool slot given {value!r}")
    if type_name == "String" and not isinstance(value, str):
        raise TypeError(f"{where}: String slot given {value!r}")
    if type_name == "Array" and not isinstance(value, list):
        raise TypeError(f"{where}: Array slot given {value!r}")
    if type_name == "Dictionary" and not isinstance(value, dict):
        raise TypeError(f"{where}: Dictionary slot given {value!r}")
    return value


def _roundi(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def _gd_int(x: Any) -> int:
    if isinstance(x, str):
        return int(x)
    return int(x)  # truncates towards zero, like Godot


def _gd_str(x: Any) -> str:
    if x is None:
        return "<null>"
    if isinstance(x, bool):
        return "true" if x else "false"
    return str(x)


def _is_instance(value: Any, type_name: str) -> bool:
    kinds: dict[str, Any] = {
        "String": str, "Dictionary": dict, "Array": list, "float": float, "bool": bool,
    }  # fmt: skip
    if type_name == "int":
        return _is_int(value)
    if type_name not in kinds:
        raise Untranslatable(f"is {type_name}")
    return isinstance(value, kinds[type_name])


BUILTINS: dict[str, str] = {
    "int": "_gd_int", "float": "float", "str": "_gd_str", "bool": "bool",
    "maxi": "max", "mini": "min", "maxf": "max", "minf": "min", "absi": "abs", "absf": "abs",
    "posmod": "_posmod", "roundi": "_roundi", "floori": "_floori", "ceili": "_ceili",
    "sin": "math.sin", "cos": "math.cos", "pow": "math.pow", "sqrt": "math.sqrt",
    "clampf": "_clamp", "clampi": "_clamp", "range": "range", "len": "len",
}  # fmt: skip
NAMES = {"true": "True", "false": "False", "null": "None", "PI": "math.pi", "TAU": "math.tau"}
BINARY_OPS = {"+", "-", "*", "/", "%", ">>", "<<", "<", ">", "<=", ">=", "==", "!="}


class _Translator:
    def __init__(self, modules: dict[str, str]) -> None:
        self.modules = modules  # const name -> preloaded file
        self.lines: list[str] = []

    # ------------------------------------------------------------------ expressions
    def expr(self, node: Any) -> str:
        if isinstance(node, Token):
            return self.token(node)
        kind = node.data
        children = node.children
        if kind in ("expr", "par_expr") and len(children) == 1:
            inner = self.expr(children[0])
            return f"({inner})" if kind == "par_expr" else inner
        if kind in ("arith_expr", "asless_arith_expr", "mdr_expr", "asless_mdr_expr",
                    "shift_expr", "comparison", "asless_comparison"):  # fmt: skip
            result = self.expr(children[0])
            for op, right in zip(children[1::2], children[2::2], strict=True):
                symbol = str(op)
                if symbol not in BINARY_OPS:
                    raise Untranslatable(f"operator {symbol}")
                if symbol == "/":
                    result = f"_gd_div({result}, {self.expr(right)})"
                elif symbol == "%":
                    result = f"_gd_mod({result}, {self.expr(right)})"
                else:
                    result = f"({result} {symbol} {self.expr(right)})"
            return result
        if kind in ("and_test", "asless_and_test", "or_test", "asless_or_test"):
            word = " and " if "and" in kind else " or "
            operands = [
                c for c in children if not (isinstance(c, Token) and c.type in ("AND", "OR"))
            ]
            return "(" + word.join(self.expr(c) for c in operands) + ")"
        if kind in ("not_test", "asless_actual_not_test", "actual_not_test"):
            return f"(not {self.expr(children[-1])})"
        if kind in ("neg_expr", "asless_actual_neg_expr", "actual_neg_expr"):
            return f"(-{self.expr(children[-1])})"
        if kind == "test_expr":
            value, _, condition, _, other = children
            return f"({self.expr(value)} if {self.expr(condition)} else {self.expr(other)})"
        if kind == "type_test":
            return f"_is_instance({self.expr(children[0])}, {str(children[-1])!r})"
        if kind == "subscr_expr":
            return f"{self.expr(children[0])}[{self.expr(children[1])}]"
        if kind == "array":
            items = [self.expr(c) for c in children if not _is_trailing(c)]
            return "[" + ", ".join(items) + "]"
        if kind == "dict":
            items = []
            for element in children:
                if _is_trailing(element):
                    continue
                key, value = element.children
                items.append(f"{self.expr(key)}: {self.expr(value)}")
            return "{" + ", ".join(items) + "}"
        if kind == "string":
            return str(children[0])
        if kind == "standalone_call":
            return self.call(children)
        if kind == "getattr_call":
            return self.method_call(children)
        if kind == "getattr":
            target, _, name = children
            return f"{self.expr(target)}.{name}"
        raise Untranslatable(f"expression {kind}")

    def token(self, token: Token) -> str:
        text = str(token)
        if token.type == "NAME":
            return NAMES.get(text, _py_name(text))
        if token.type == "NUMBER":
            return text.replace("_", "")
        if token.type == "REGULAR_STRING":
            return text
        raise Untranslatable(f"token {token.type} {text}")

    def args(self, nodes: list[Any]) -> list[str]:
        return [self.expr(n) for n in nodes if not _is_trailing(n)]

    def call(self, children: list[Any]) -> str:
        name = str(children[0])
        args = self.args(children[1:])
        if name == "preload":
            raise Untranslatable("preload outside a constant")
        return f"{BUILTINS.get(name, name)}({', '.join(args)})"

    def method_call(self, children: list[Any]) -> str:
        getattr_node, *arg_nodes = children
        target, _, method = getattr_node.children
        method = str(method)
        args = self.args(arg_nodes)
        if isinstance(target, Token) and str(target) in self.modules:
            return f"{target}.{method}({', '.join(args)})"
        obj = self.expr(target)
        simple = {
            "size": f"len({obj})",
            "is_empty": f"(len({obj}) == 0)",
            "keys": f"list({obj}.keys())",
            "values": f"list({obj}.values())",
            "pop_back": f"{obj}.pop()",
            "duplicate": f"_duplicate({obj})",
        }
        if method in simple and not args:
            return simple[method]
        if method == "append" and len(args) == 1:
            return f"{obj}.append({args[0]})"
        if method == "has" and len(args) == 1:
            return f"({args[0]} in {obj})"
        if method == "get" and len(args) in (1, 2):
            default = args[1] if len(args) == 2 else "None"
            return f"{obj}.get({args[0]}, {default})"
        raise Untranslatable(f"method {method} with {len(args)} arguments")

    # ------------------------------------------------------------------ statements
    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def block(self, statements: list[Any], depth: int) -> None:
        emitted = len(self.lines)
        for statement in statements:
            self.statement(statement, depth)
        if len(self.lines) == emitted:
            self.emit(depth, "pass")

    def statement(self, node: Tree, depth: int) -> None:
        kind = node.data
        children = node.children
        if kind == "annotation":
            return
        if kind == "func_var_stmt":
            self.variable(children[0], depth)
        elif kind == "expr_stmt":
            self.expr_statement(children[0], depth)
        elif kind == "return_stmt":
            if children:
                self.emit(depth, f"return _typed({self.expr(children[0])}, _RETURN, _WHERE)")
            else:
                self.emit(depth, "return None")
        elif kind == "if_stmt":
            for index, branch in enumerate(children):
                if branch.data == "else_branch":
                    self.emit(depth, "else:")
                    self.block(branch.children, depth + 1)
                    continue
                word = "if" if index == 0 else "elif"
                self.emit(depth, f"{word} {self.expr(branch.children[0])}:")
                self.block(branch.children[1:], depth + 1)
        elif kind == "while_stmt":
            self.emit(depth, f"while {self.expr(children[0])}:")
            self.block(children[1:], depth + 1)
        elif kind == "for_stmt":
            self.emit(depth, f"for {_py_name(str(children[0]))} in {self.expr(children[1])}:")
            self.block(children[2:], depth + 1)
        elif kind in ("continue_stmt", "break_stmt", "pass_stmt"):
            self.emit(depth, kind.removesuffix("_stmt"))
        else:
            raise Untranslatable(f"statement {kind}")

    def variable(self, node: Tree, depth: int) -> None:
        kind = node.data
        name = _py_name(str(node.children[0]))
        if kind == "func_var_inf":
            self.emit(depth, f"{name} = {self.expr(node.children[1])}")
        elif kind == "func_var_typed_assgnd":
            type_name, value = str(node.children[1]), node.children[2]
            self.emit(depth, f"{name} = _typed({self.expr(value)}, {type_name!r}, {name!r})")
        elif kind == "func_var_assigned":
            self.emit(depth, f"{name} = {self.expr(node.children[1])}")
        else:
            raise Untranslatable(f"variable {kind}")

    def expr_statement(self, node: Tree, depth: int) -> None:
        inner = node.children[0] if node.data == "expr" else node
        if isinstance(inner, Tree) and inner.data == "assnmnt_expr":
            target, op, value = inner.children
            if str(op) not in ("=", "+=", "-=", "*="):
                raise Untranslatable(f"assignment {op}")
            self.emit(depth, f"{self.expr(target)} {op} {self.expr(value)}")
        else:
            self.emit(depth, self.expr(inner))

    def function(self, node: Tree) -> None:
        header, *body = node.children
        name = str(header.children[0])
        args = header.children[1] if len(header.children) > 1 else None
        return_type = str(header.children[2]) if len(header.children) > 2 else ""
        names, checks = [], []
        for arg in args.children if isinstance(args, Tree) else []:
            arg_name = _py_name(str(arg.children[0]))
            if arg.data == "func_arg_typed":
                names.append(arg_name)
                checks.append(
                    f"{arg_name} = _typed({arg_name}, {str(arg.children[1])!r}, {name!r})"
                )
            elif arg.data in ("func_arg_regular",):
                names.append(arg_name)
            elif arg.data == "func_arg_inf":  # name := default
                names.append(f"{arg_name}={self.expr(arg.children[1])}")
            elif arg.data == "func_arg_typed_with_default":
                arg_type = str(arg.children[1])
                names.append(f"{arg_name}={self.expr(arg.children[2])}")
                checks.append(f"{arg_name} = _typed({arg_name}, {arg_type!r}, {name!r})")
            else:
                raise Untranslatable(f"argument {arg.data}")
        self.emit(0, f"def {name}({', '.join(names)}):")
        self.emit(1, f"_RETURN, _WHERE = {return_type!r}, {name!r}")
        for check in checks:
            self.emit(1, check)
        self.block(body, 1)


def _py_name(name: str) -> str:
    """A GDScript name that is a Python keyword gets a trailing underscore."""
    return name + "_" if keyword.iskeyword(name) else name


def _is_trailing(node: Any) -> bool:
    return isinstance(node, Tree) and node.data == "trailing_comma"


def _posmod(a: int, b: int) -> int:
    return a % b


def _floori(x: float) -> int:
    return math.floor(x)


def _ceili(x: float) -> int:
    return math.ceil(x)


def _clamp(x: Any, low: Any, high: Any) -> Any:
    return max(low, min(high, x))


def _duplicate(value: Any) -> Any:
    return list(value) if isinstance(value, list) else dict(value)


HELPERS = {
    name: value
    for name, value in globals().items()
    if name.startswith("_") and callable(value) and name != "_Translator"
}


def load(path: Path, _cache: dict[Path, types.ModuleType] | None = None) -> types.ModuleType:
    """The static functions and constants of a pure .gd file, as a Python module."""
    from gdtoolkit.parser import parser

    cache = {} if _cache is None else _cache
    path = path.resolve()
    if path in cache:
        return cache[path]
    tree = parser.parse(path.read_text(encoding="utf-8"))
    preloads: dict[str, types.ModuleType] = {}
    translator = _Translator({})
    for statement in tree.children:
        kind = statement.data
        if kind in ("classname_stmt", "extends_stmt", "annotation"):
            continue
        if kind == "const_stmt":
            const = statement.children[0]
            name = str(const.children[0])
            value = const.children[-1]
            call = value.children[0] if isinstance(value, Tree) and value.data == "expr" else value
            if (
                isinstance(call, Tree)
                and call.data == "standalone_call"
                and str(call.children[0]) == "preload"
            ):
                relative = translator.expr(call.children[1]).strip('"')
                preloads[name] = load(path.parent / relative, cache)
                translator.modules[name] = relative
                continue
            translator.emit(0, f"{name} = {translator.expr(value)}")
        elif kind == "static_func_def":
            translator.function(statement.children[0])
        else:
            raise Untranslatable(f"top-level {kind} in {path.name}")
    source = "\n".join(translator.lines) + "\n"
    module = types.ModuleType(path.stem)
    module.__dict__.update(HELPERS)
    module.__dict__.update(preloads)
    module.__dict__["math"] = math
    module.__dict__["__gd_source__"] = source
    exec(compile(source, f"<{path.name} as Python>", "exec"), module.__dict__)
    cache[path] = module
    return module
