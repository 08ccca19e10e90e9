"""An ordered comparison admits one run of releases in version order, whatever PEP 440 leaves
out next to its bound (tripin/resolver/admits.py finds the run by bisection, not by asking
every release): checked against asking every release, on versions with every kind of segment."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import Specifier
from packaging.version import Version

from tripin.resolver.admits import admitted_run

_small = st.integers(min_value=0, max_value=3)


@st.composite
def _versions(draw: st.DrawFn, local: bool = True) -> str:
    text = ".".join(str(draw(_small)) for _ in range(draw(st.integers(min_value=1, max_value=4))))
    if draw(st.booleans()):
        text += draw(st.sampled_from(["a", "b", "rc"])) + str(draw(_small))
    if draw(st.booleans()):
        text += f".post{draw(_small)}"
    if draw(st.booleans()):
        text += f".dev{draw(_small)}"
    if local and draw(st.booleans()):
        text += f"+l{draw(_small)}"
    return text


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(_versions(), min_size=0, max_size=40),
    st.sampled_from([">=", ">", "<=", "<"]),
    _versions(local=False),
)
def test_an_ordered_comparison_admits_one_run(texts: list[str], operator: str, bound: str) -> None:
    ascending = sorted({Version(t) for t in texts})
    spec = Specifier(f"{operator}{bound}")
    run = admitted_run(spec, ascending)
    assert [v for v in ascending if spec.contains(v, prereleases=True)] == ascending[run.start : run.stop]


def test_the_bound_s_own_neighbours() -> None:
    """The cases PEP 440 singles out: `<V` leaves out V's pre-releases, `>V` its post-releases
    and local versions; `<=V` and `>=V` take V's local versions."""
    ascending = sorted(Version(t) for t in ["0.9", "1.0.dev0", "1.0rc1", "1.0", "1.0+l1", "1.0.post1", "1.0.1"])
    runs = {op: admitted_run(Specifier(f"{op}1.0"), ascending) for op in (">", ">=", "<", "<=")}
    got = {op: [str(v) for v in ascending[run.start : run.stop]] for op, run in runs.items()}
    assert got == {
        ">": ["1.0.1"],
        ">=": ["1.0", "1.0+l1", "1.0.post1", "1.0.1"],
        "<": ["0.9"],
        "<=": ["0.9", "1.0.dev0", "1.0rc1", "1.0", "1.0+l1"],
    }
