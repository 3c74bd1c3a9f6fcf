"""Typed config sections: dataclasses whose fields carry their docs and checks.

A section is a frozen dataclass. Each field is declared with :func:`option`,
which stores the documentation, the unit and a check beside the default, so
the same declaration validates user input, fills in defaults and generates
``config/README.md`` (see :func:`describe`). Parsing walks the dataclass
fields, so an error always knows the full key path of the bad value.

A *tagged* section is a base dataclass with a ``kind`` field and a mapping
``_variants`` of kind -> subclass that adds that kind's own keys (see
:func:`variant_of`): the section's ``kind`` picks the class it parses with, so a
key that would not apply to that kind is an unknown key, and the generated
docs say which kinds each key belongs to.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from typing import Any, Callable, Literal, Union, get_args, get_origin

from einet.errors import ConfigError

Check = Callable[[Any], "str | None"]  # returns a description of what was expected, or None


def option(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    unit: str | None = None,
    check: Check | None = None,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """Declare a config field with its documentation, unit and validity check."""
    metadata = {"doc": doc, "unit": unit, "check": check}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


# ----------------------------------------------------------------- checks
def positive(value) -> str | None:
    return None if value > 0 else "a number > 0"


def non_negative(value) -> str | None:
    return None if value >= 0 else "a number >= 0"


def seed_value(value) -> str | None:
    """Seeds reach torch's and NumPy's generators, which take 64-bit integers."""
    return None if 0 <= value < 2**63 else "an integer from 0 to 2**63 - 1"


def finite(value) -> str | None:
    return None if math.isfinite(value) else "a finite number"


# ----------------------------------------------------------------- YAML
def load_yaml(stream, where: str):
    """Parse YAML safely (plain data only), refusing a key given twice in one mapping.

    PyYAML keeps the last of two equal keys without a word, so a section repeated by
    mistake would silently replace the first; here it is an error naming the key and line.
    """
    import yaml

    class UniqueKeys(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when installed: 10x faster
        pass

    def mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: construct_mapping reports it
                break
            if repeated:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"{where}: line {line}", key, "each key once per mapping (this one is repeated)")
            seen.add(key)
        return loader.construct_mapping(node, deep)

    UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return yaml.load(stream, Loader=UniqueKeys)  # noqa: S506 (a SafeLoader subclass)


# ----------------------------------------------------------------- parsing
def _type_name(tp) -> str:
    origin = get_origin(tp)
    if tp is type(None):
        return "null"
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is list:
        return f"a list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        return f"a mapping of name -> {_type_name(get_args(tp)[1])}"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {float: "a number", int: "an integer", bool: "true or false", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def parse_value(tp, value, path: str):
    """Convert ``value`` to type ``tp`` or raise :class:`ConfigError` naming ``path``."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return parse_value(arg, value, path)
            except ConfigError as err:
                errors.append(err)
        if len(errors) == 1:
            raise errors[0]
        raise ConfigError(path, value, _type_name(tp))
    if origin is Literal:
        if value not in get_args(tp):
            raise ConfigError(path, value, f"one of {', '.join(repr(a) for a in get_args(tp))}")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(path, value, _type_name(tp))
        (item,) = get_args(tp)
        return [parse_value(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, value, _type_name(tp))
        _, item = get_args(tp)
        out = {}
        for key, v in value.items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"{path}.{key}", key, "a non-empty string name")
            out[key] = parse_value(item, v, f"{path}.{key}")
        return out
    if dataclasses.is_dataclass(tp):
        return parse_section(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, value, "true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(path, value, "an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, value, "a number")
        if not math.isfinite(value):
            raise ConfigError(path, value, "a finite number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, value, "a string")
        return value
    if tp is Any:
        return value
    raise TypeError(f"unsupported config type {tp!r} at {path}")  # a bug in einet


def variant_of(cls, value: dict):
    """The class a tagged section parses ``value`` with: ``cls._variants[kind]``, else ``cls`` itself
    (a kind without keys of its own). Whether the kind exists is the ``kind`` field's check (or,
    for kinds registered by components, the experiment's cross-check)."""
    variants = getattr(cls, "_variants", None)
    if not variants:
        return cls
    kind = value.get("kind")
    if kind is None:
        default = next(f.default for f in dataclasses.fields(cls) if f.name == "kind")
        kind = None if default is dataclasses.MISSING else default
    return variants.get(kind, cls) if isinstance(kind, str) else cls


def parse_section(cls, value, path: str):
    """Build the dataclass ``cls`` from a mapping, checking every key and value.

    A class may define ``_shorthand(value)`` to accept a scalar in place of a
    mapping (``transfer: sigmoid``) and ``_check(self, path)`` for checks that
    involve several fields; a tagged class (``_variants``) parses with the
    subclass its ``kind`` names.
    """
    shorthand = getattr(cls, "_shorthand", None)
    if shorthand is not None and not isinstance(value, dict):
        value = shorthand(value)
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(path, value, "a mapping")
    tagged = getattr(cls, "_variants", None)
    if tagged:  # the kind first: it decides which keys are known
        kind_field = next(f for f in dataclasses.fields(cls) if f.name == "kind")
        if "kind" in value:
            parse_value(_hints(cls)["kind"], value["kind"], _join(path, "kind"))
        elif kind_field.default is dataclasses.MISSING:
            raise ConfigError(_join(path, "kind"), "<missing>", f"a value ({kind_field.metadata.get('doc', '')})")
    cls = variant_of(cls, value)
    hints = _hints(cls)
    fields = _fields(cls)
    unknown = sorted(set(value) - set(fields))
    if unknown:
        key = unknown[0]
        where = path or "the config"
        if tagged:
            where = f"{where} with kind {value.get('kind', fields['kind'].default)!r}"
            others = sorted(k for k, v in tagged.items() if key in {f.name for f in dataclasses.fields(v)})
            if others:
                where += f" (only kind {', '.join(others)} has {key!r})"
        raise ConfigError(_join(path, key), value[key], f"a known key of {where}: {', '.join(fields)}")
    kwargs = {}
    for name, f in fields.items():
        key_path = _join(path, name)
        if name in value:
            parsed = parse_value(hints[name], value[name], key_path)
        elif f.default is not dataclasses.MISSING:
            parsed = f.default
        elif getattr(f.default_factory, "_variants", None):  # a tagged section: the class of its default kind
            parsed = parse_section(f.default_factory, {}, key_path)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            parsed = f.default_factory()  # type: ignore[misc]
        else:
            raise ConfigError(key_path, "<missing>", f"a value ({f.metadata.get('doc', '')})")
        check = f.metadata.get("check")
        if check is not None and parsed is not None:
            expected = check(parsed)
            if expected:
                raise ConfigError(key_path, parsed, expected)
        kwargs[name] = parsed
    obj = cls(**kwargs)
    post = getattr(obj, "_check", None)
    if post is not None:
        post(path)
    return obj


class PathSetter:
    """Set one dotted path of a parsed section to new values, each checked as a full parse would check it.

    Only the new value and the sections that contain it can fail a check that passed before, so a value is
    parsed with its field's type and check, and the ``_check`` of every enclosing section runs again, bottom
    up; the rest of the section is shared. The walk is planned once from ``base``, so a batch of many values
    costs a few microseconds each instead of one parse each.
    """

    def __init__(self, base, path: str, where: str):
        self.base, self.where = base, where
        self._steps = []  # (node, key, is_field, leaf_type, field_check, enclosing_path) from the top down
        node, hint, here = base, None, ""
        for key in path.split("."):
            child_path = _join(here, key)
            if dataclasses.is_dataclass(node):
                fields = _fields(type(node))
                if key not in fields:
                    raise ConfigError(where, path, "a dotted path to an existing setting")
                hint = _hints(type(node))[key]
                self._steps.append((node, key, True, hint, fields[key].metadata.get("check"), here))
                node = getattr(node, key)
            elif isinstance(node, dict):
                while get_origin(hint) in (Union, types.UnionType):  # Optional[dict[...]]
                    hint = next(a for a in get_args(hint) if a is not type(None))
                hint = get_args(hint)[1]
                self._steps.append((node, key, False, hint, None, here))
                node = node.get(key)
            else:
                raise ConfigError(where, path, "a path through mappings; write the section out in full")
            here = child_path
        self.path = here

    def __call__(self, value, base=None):
        """``base`` (default: the one planned from) with the path set to ``value``; ``base`` must have the same
        sections along the path (another element of the same batch)."""
        nodes = [self.base] if base is None else [base]
        for _, key, is_field, *_ in self._steps[:-1]:
            nodes.append(getattr(nodes[-1], key) if is_field else nodes[-1][key])
        new = parse_value(self._steps[-1][3], value, self.path)
        for node, (_, key, is_field, _, check, enclosing) in zip(reversed(nodes), reversed(self._steps)):
            if is_field:
                if check is not None and new is not None:
                    expected = check(new)
                    if expected:
                        raise ConfigError(_join(enclosing, key), new, expected)
                obj = object.__new__(type(node))  # dataclasses.replace without re-running __init__
                obj.__dict__.update(node.__dict__)
                obj.__dict__[key] = new
                post = getattr(obj, "_check", None)
                if post is not None:
                    post(enclosing)
                new = obj
            else:
                new = {**node, key: new}
        return new


@functools.cache
def _hints(cls) -> dict:
    """The resolved field types of a section class (resolving them is most of a parse; the classes never change)."""
    return typing.get_type_hints(cls)


@functools.cache
def _fields(cls) -> dict:
    return {f.name: f for f in dataclasses.fields(cls)}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def to_dict(obj) -> Any:
    """The plain-YAML form of a section (the inverse of :func:`parse_section`)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


# ----------------------------------------------------------------- documentation
def _tagged_fields(cls) -> list[tuple[type, dataclasses.Field, list[str]]]:
    """(class, field, kinds) for every field of a tagged section: the base's (kinds ``[]``: every
    kind), then each variant's own, once per name with every kind that has it."""
    base = {f.name for f in dataclasses.fields(cls)}
    rows = [(cls, f, []) for f in dataclasses.fields(cls)]
    own: dict[str, tuple[type, dataclasses.Field, list[str]]] = {}
    for kind, variant in cls._variants.items():
        for f in dataclasses.fields(variant):
            if f.name not in base:
                own.setdefault(f.name, (variant, f, []))[2].append(kind)
    return rows + list(own.values())


def describe(cls, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """Rows (key, type, default, doc) for every option of ``cls``, recursively; the keys of a tagged
    section's variants say which kinds they belong to."""
    rows = []
    if getattr(cls, "_variants", None):
        entries = _tagged_fields(cls)
    else:
        entries = [(cls, f, []) for f in dataclasses.fields(cls)]
    for owner, f, kinds in entries:
        key = _join(prefix, f.name)
        tp = typing.get_type_hints(owner)[f.name]
        doc = f.metadata.get("doc", "")
        if kinds:
            doc = f"(kind {', '.join(kinds)}) {doc}"
        unit = f.metadata.get("unit")
        if unit:
            doc = f"{doc} [{unit}]"
        inner = _section_type(tp)
        if inner is not None and get_origin(tp) is dict:
            rows.append((key, "mapping", "", doc))
            rows.extend(_labelled(describe(inner, f"{key}.<name>"), kinds))
            continue
        if inner is not None:
            if get_origin(tp) in (Union, types.UnionType):  # an optional section: say how to leave it out
                default = "a mapping of defaults" if f.default is dataclasses.MISSING else repr(f.default)
                rows.append((key, "mapping or null", default, doc))
            rows.extend(_labelled(describe(inner, key), kinds))
            continue
        if f.default is not dataclasses.MISSING:
            default = "required" if f.default is dataclasses.MISSING else repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = repr(f.default_factory())  # type: ignore[misc]
        else:
            default = "required"
        rows.append((key, _type_name(tp), default, doc))
    return rows


def _labelled(rows: list, kinds: list[str]) -> list:
    """The rows of a subsection that belongs to some kinds of a tagged section, each saying so."""
    if not kinds:
        return rows
    return [(key, tp, default, f"(kind {', '.join(kinds)}) {doc}") for key, tp, default, doc in rows]


def _section_type(tp):
    """The dataclass inside ``tp`` (directly, optional, or as a dict's values), else None."""
    if get_origin(tp) in (Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        return _section_type(inner[0]) if len(inner) == 1 else None
    if dataclasses.is_dataclass(tp):
        return tp
    if get_origin(tp) is dict and dataclasses.is_dataclass(get_args(tp)[1]):
        return get_args(tp)[1]
    return None


def field_info(cls, path: str) -> dict:
    """The metadata (doc, unit) of the option at dotted ``path`` below ``cls``.

    Names of mapping entries (population names, ...) are skipped over, so
    ``model.populations.E.tau`` finds ``PopulationSpec.tau``.
    """
    node = cls
    meta: dict = {}
    parts = path.split(".")
    i = 0
    while i < len(parts):
        if getattr(node, "_variants", None):
            entries = _tagged_fields(node)
        else:
            entries = [(node, f, []) for f in dataclasses.fields(node)]
        fields = {f.name: (owner, f) for owner, f, _ in entries}
        if parts[i] not in fields:
            raise KeyError(path)
        owner, f = fields[parts[i]]
        meta = dict(f.metadata)
        tp = typing.get_type_hints(owner)[parts[i]]
        inner = _section_type(tp)
        if get_origin(tp) is dict:
            i += 1  # skip the entry name
        if inner is None:
            break
        node = inner
        i += 1
    return meta
