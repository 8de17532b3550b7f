"""yamldoc.compose builds the node tree PyYAML's own composer builds (without its recursion and
with libyaml's parser): the same tags, values, styles and lines, on the shipped YAML files and on
generated documents with anchors and aliases; errors stay one line naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from offhost_audit import yamldoc
from offhost_audit.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted([*ROOT.glob("examples/*.yaml"), *ROOT.glob("offhost_audit/lab/scenarios/*.yaml")])


def shape(node):
    """A node tree as plain data: what a reader of the tree can see, marks as (line, column). Flow style
    as a yes/no: PyYAML says None, libyaml False, for a block list not indented under its key."""
    if node is None:
        return None
    where = (node.start_mark.line, node.start_mark.column)
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.value, node.style, where)
    if isinstance(node, yaml.SequenceNode):
        return ("seq", node.tag, [shape(v) for v in node.value], bool(node.flow_style), where)
    return ("map", node.tag, [(shape(k), shape(v)) for k, v in node.value], bool(node.flow_style), where)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_files_compose_as_pyyaml_composes_them(path):
    text = path.read_text(encoding="utf-8")
    assert shape(yamldoc.compose(text, str(path))) == shape(yaml.compose(text, Loader=yaml.SafeLoader))


values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(doc=values, flow=st.booleans(), share=st.booleans())
def test_generated_documents_compose_as_pyyaml_composes_them(doc, flow, share):
    if share:  # the same object twice: safe_dump writes an anchor and an alias
        doc = {"a": doc, "b": doc} if isinstance(doc, (list, dict)) else doc
    text = yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=True)
    assert shape(yamldoc.compose(text, "gen.yaml")) == shape(yaml.compose(text, Loader=yaml.SafeLoader))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: b\n---\nc: d\n", "f.yaml:2: not valid YAML: but found another document"),
        ("a: *x\n", "f.yaml:1: not valid YAML: found undefined alias 'x'"),
        ("a: &x 1\nb: &x 2\n", "f.yaml:2: not valid YAML: second occurrence"),
        ("a: &a [*a]\n", "f.yaml:1: a YAML alias refers to itself"),
        ("x: 1\ny: \x1b\n", "f.yaml:2: not valid YAML: U+001B is not allowed in YAML text"),
        ("x: \ud800\n", "f.yaml:1: not valid YAML: lone surrogate U+D800"),
        ("[" * 51 + "]" * 51, "f.yaml:1: nested more than 50 levels deep (an inventory needs a handful)"),
        ("[" * 5000 + "]" * 5000, "f.yaml:1: nested more than 50 levels deep (an inventory needs a handful)"),
    ],
)
def test_errors_are_one_line_naming_the_file(text, message):
    with pytest.raises(InputError) as e:
        yamldoc.compose(text, "f.yaml")
    assert str(e.value) == message
