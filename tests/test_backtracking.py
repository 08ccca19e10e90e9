"""Which package the resolver moves when releases conflict: the one that brought the conflict,
not every release of whatever was decided after it (tripin/resolver/conflicts.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import lock_args, read_toml, tripin
from indexserver import IndexServer, build_wheel
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from tripin.index import Index, IndexClient
from tripin.index.cache import Cache
from tripin.resolver.conflicts import DecisionOrder
from tripin.resolver.factory import Factory
from tripin.resolver.types import Candidate, Req
from tripin.rules import load_ruleset
from tripin.targets import parse_target

X86 = "linux-x86_64-cp312"


def _index(make_index: object, tmp_path: Path) -> tuple[IndexServer, Callable[..., None]]:
    """A fresh index and `publish(name, version, *requires)` for a wheel on it."""
    server: IndexServer = make_index()  # type: ignore[operator]

    def publish(name: str, version: str, *requires: str) -> None:
        server.publish(build_wheel(tmp_path / "w", name, version, requires_dist=requires))

    return server, publish


def _hub_index(make_index: object, tmp_path: Path) -> IndexServer:
    """The shape of PyPI in 2026 for `transformers peft datasets evaluate`: the newest datasets
    needs hub>=1.31, every transformers 4.x needs hub<1.0, and transformers 2.3.0 (2019) needs
    no hub at all; peft and evaluate have many releases, each fine with any hub."""
    server, publish = _index(make_index, tmp_path)
    for version in ("0.36.2", "1.31.0", "2.4.0"):
        publish("huggingface-hub", version)
    publish("datasets", "5.0.1", "huggingface-hub>=0.30,<2")
    publish("datasets", "5.2.0", "huggingface-hub>=1.31,<3")
    publish("transformers", "2.3.0")
    for minor in range(30, 58):
        publish("transformers", f"4.{minor}.0", "huggingface-hub>=0.24,<1.0")
    for minor in range(1, 21):
        publish("peft", f"0.{minor}.0", "huggingface-hub>=0.25", "transformers")
    for patch in range(1, 11):
        publish("evaluate", f"0.4.{patch}", "huggingface-hub>=0.7")
    return server


def _versions(work: Path) -> dict[str, str]:
    return {p["name"]: p["version"] for p in read_toml(work / "pylock.toml")["packages"]}


def test_the_release_that_brought_a_conflict_moves_not_an_ancient_fallback(
    make_index: object, work: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """datasets is decided first (alphabetically), at 5.2.0, and every transformers 4.x is then
    refused for its hub<1.0. tripin once settled on transformers 2.3.0, a 2019 release that
    needs no hub (valid on metadata, useless to its users), after walking peft and evaluate
    back for 12 s on the real PyPI. transformers is now decided before datasets, and datasets
    moves back one release, as uv does it."""
    server = _hub_index(make_index, tmp_path)
    extra = ["transformers<5", "peft", "datasets", "evaluate"]
    run = tripin(capsys, *lock_args(server.simple_url, work / "c", X86, extra=extra))
    assert run.code == 0, run.err
    versions = _versions(work)
    assert versions["transformers"] == "4.57.0"
    assert versions["datasets"] == "5.0.1"
    assert versions["huggingface-hub"] == "0.36.2"
    assert (versions["peft"], versions["evaluate"]) == ("0.20.0", "0.4.10")  # left where they were


def test_a_conflict_does_not_walk_unrelated_releases(
    make_index: object, work: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """With `transformers>=4.30,<5` no old release escapes the conflict: resolvelib undid the
    latest decisions first, peft and evaluate, 200 pairs of releases each trying all 28
    transformers (15 to 19 s per target on the real PyPI) before it moved datasets."""
    server = _hub_index(make_index, tmp_path)
    extra = ["transformers>=4.30,<5", "peft", "datasets", "evaluate", "-vv"]
    run = tripin(capsys, *lock_args(server.simple_url, work / "c", X86, extra=extra))
    assert run.code == 0, run.err
    assert run.err.count("candidate(s) for") < 100  # the resolver's work, counted: 6,610 before
    assert _versions(work)["datasets"] == "5.0.1"
    assert _versions(work)["peft"] == "0.20.0"


def test_a_settled_order_never_flips() -> None:
    """After `a before b`, b's refusals because of a must not put b first again: that would
    undo the restart that settled them, and start over for ever."""
    order = DecisionOrder()
    assert order.settle("transformers", "datasets")
    assert not order.settle("datasets", "transformers")
    assert not order.settle("transformers", "datasets")  # settled already: no restart in the same order
    assert order.rank("transformers") < order.rank("peft") < order.rank("datasets")
    assert order.settle("torch", "numpy")
    assert order.rank("transformers") < order.rank("torch")  # the earlier settlement stays first


@pytest.mark.parametrize("given", ["requirement", "constraints file"])
def test_a_release_the_user_s_requirements_refuse_is_refused_once(
    make_index: object, work: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, given: str
) -> None:
    """`langchain langchain-openai 'pydantic<2'`: every langchain-core release since 0.2 needs
    pydantic>=2.7.4. resolvelib forgets a refusal when it backtracks, so it refused the same
    langchain-core releases again for every langchain-openai release: 29,000 rounds, 4.8 s warm.
    A release the user's own requirements refuse is now refused once for the whole resolution;
    so is one a constraints file refuses (`-c`, pip-tools' way to give the same bound)."""
    server: IndexServer = make_index()  # type: ignore[operator]
    wheels = tmp_path / "w"
    server.publish(build_wheel(wheels, "pyd", "1.10"))
    server.publish(build_wheel(wheels, "pyd", "2.7"))
    server.publish(build_wheel(wheels, "core", "1.0", requires_dist=["pyd"]))
    for i in range(1, 21):
        server.publish(build_wheel(wheels, "core", f"1.{i}", requires_dist=["pyd>=2.7"]))
        server.publish(build_wheel(wheels, "plug", f"1.{i}", requires_dist=[f"core>=1.{i}"]))
    server.publish(build_wheel(wheels, "plug", "1.0", requires_dist=["core"]))
    (work / "cons.txt").write_text("pyd<2\n")
    bound = ["pyd<2"] if given == "requirement" else ["pyd", "-c", "cons.txt"]
    run = tripin(capsys, *lock_args(server.simple_url, work / "c", X86, extra=["plug", *bound, "-vv"]))
    assert run.code == 0, run.err
    assert (_versions(work)["plug"], _versions(work)["core"], _versions(work)["pyd"]) == ("1.0", "1.0", "1.10")
    ruled_out = [line for line in run.err.splitlines() if "ruled out" in line]
    assert len(ruled_out) == len(set(ruled_out)) == 20  # each core 1.1 to 1.20 once, not once per plug release


def test_a_conflict_two_levels_down_moves_the_requirement_that_brings_it(
    make_index: object, work: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`'httpx<0.24' openai`: openai 3 requires httpx2, whose httpcore2 needs h11>=0.16, and
    httpx 0.23's httpcore needs h11<0.15. Deciding httpcore2 before httpcore changes nothing
    (each still brings the other's conflict), so tripin gave up after 20,000 rounds where uv
    locks openai 2.54.0. The same rule now goes up to the user's requirements that bring the
    pair in: httpx before openai, and openai moves back to its last release without httpx2.
    Turning that round (openai first, httpx last) finds no httpx without h11<0.15 here: that
    trial runs out of rounds, and the order before it locks."""
    server, _ = _httpx_index(make_index, tmp_path)
    run = tripin(capsys, *lock_args(server.simple_url, work / "c", X86, extra=["httpx<1.25", "openai"]))
    assert run.code == 0, run.err
    versions = _versions(work)
    assert (versions["openai"], versions["httpx"], versions["h11"]) == ("2.54", "1.24", "0.14")


def test_releases_passed_over_for_want_of_a_wheel_are_named_in_a_conflict(
    make_index: object, work: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`sentence-transformers 'transformers<4.30'` on cp310: every release with a wheel needs a
    newer transformers, and 2.2.2 and older are sdists. The error named only the wheels' demand,
    as if no older release existed; uv names the ones without a usable wheel."""
    server, publish = _index(make_index, tmp_path)
    publish("transformers", "4.29")
    publish("transformers", "4.34")
    for version in ("2.3", "2.4"):
        publish("st", version, "transformers>=4.32")
    for version in ("2.1", "2.2"):
        sdist = tmp_path / f"st-{version}.tar.gz"
        sdist.write_bytes(b"not read")
        server.publish(sdist, project="st")
    run = tripin(capsys, *lock_args(server.simple_url, work / "c", X86, extra=["st", "transformers<4.30"]))
    assert run.code == 1
    assert "no version of transformers satisfies" in run.err
    assert f"(st 2.2 and 1 older: passed over, no wheel for {X86}; tripin locks wheels, not sdists)" in run.err


def test_a_settled_pair_that_keeps_conflicting_is_turned_round_once_on_trial() -> None:
    """A flip goes against an earlier settlement, so it is tried once per pair, and the order
    it replaced is kept to go back to."""
    order = DecisionOrder()
    assert order.settle("httpx", "openai")
    saved = order.snapshot()
    assert order.flip("openai", "httpx")
    assert order.rank("openai") < order.rank("certifi") < order.rank("httpx")
    assert not order.flip("httpx", "openai")  # turned round once: never back and forth
    assert not order.flip("openai", "httpx")
    order.restore(saved)
    assert order.rank("httpx") < order.rank("certifi") < order.rank("openai")
    assert not order.flip("openai", "httpx")  # gone back to, not tried again


def _httpx_index(make_index: object, tmp_path: Path) -> tuple[IndexServer, Callable[..., None]]:
    """`'httpx<0.24' openai`, in small: openai 3 requires httpx2, whose httpcore2 needs
    h11>=0.16, and httpx 1.10 to 1.29's httpcore needs h11<0.15; openai 2.54 needs httpx."""
    server, publish = _index(make_index, tmp_path)
    for version in ("0.13", "0.14", "0.16"):
        publish("h11", version)
    for i in range(10, 30):
        publish("certifi", f"2026.{i}")
        publish("httpcore", f"0.{i}", "h11<0.15", "certifi")
        publish("httpx", f"1.{i}", f"httpcore>=0.{i}", "certifi")
        publish("httpcore2", f"2.{i}", "h11>=0.16", "certifi")
        publish("httpx2", f"2.{i}", f"httpcore2>=2.{i}", "certifi")
        publish("openai", f"3.{i}", "httpx2", "certifi")
    publish("openai", "2.54", "httpx", "certifi")
    return server, publish


def test_a_settlement_whose_conflict_comes_back_is_turned_round(
    make_index: object, work: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`'httpx<0.24' openai anthropic`: httpx first sends openai back to 2.54, but every
    anthropic needs httpx2 as well, and tripin gave up after 20,000 rounds (uv: 5 s). Decided
    the other way round, openai and anthropic keep their newest and httpx goes back to a release
    whose httpcore takes h11 0.16 (httpx 0.18.1 on PyPI), as uv locks it."""
    server, publish = _httpx_index(make_index, tmp_path)
    publish("httpcore", "0.9", "h11", "certifi")
    publish("httpx", "1.5", "httpcore==0.9", "certifi")
    for i in range(10, 30):
        publish("anthropic", f"2.{i}", "httpx2", "certifi")
    publish("anthropic", "1.0", "httpx>=1.30", "certifi")
    run = tripin(capsys, *lock_args(server.simple_url, work / "c", X86, extra=["httpx<1.25", "openai", "anthropic"]))
    assert run.code == 0, run.err
    versions = _versions(work)
    got = (versions["anthropic"], versions["openai"], versions["httpx"], versions["h11"])
    assert got == ("2.29", "3.29", "1.5", "0.16")


def test_a_name_walked_back_reads_ahead_below_its_range(make_index: object, tmp_path: Path) -> None:
    """`langchain langchain-openai 'pydantic<2'`: each older langchain-openai lets in one or two
    older langchain-core releases, so the look-ahead within langchain-core's range found nothing
    to read, and 200 langchain-core releases were read one round trip after another (13 s cold,
    now 5.5 s; uv 2.4 s). Where the range has fewer releases left than the look-ahead wants, the
    next older ones make up the number, but never one a constraints file (-c) refuses."""
    server, publish = _index(make_index, tmp_path)
    for i in range(1, 21):
        publish("core", f"1.{i}")
    client = IndexClient([Index(name="local", url=server.simple_url)], cache=Cache(tmp_path / "cache"))
    factory = Factory(parse_target(X86), client, load_ruleset(), user_constraints=[Requirement("core>=1.5")])
    walked = [Candidate(name=NormalizedName("core"), version=Version(f"1.{i}")) for i in range(13, 21)]
    wanted = [Req(name=NormalizedName("core"), specifier=SpecifierSet(">=1.10"))]
    first = next(factory.find(NormalizedName("core"), frozenset(), wanted, walked)())
    client.close()  # waits for the fetches started ahead
    assert first.version == Version("1.12")
    read = {path.rsplit("/", 1)[-1] for path in server.paths() if path.startswith("/files/")}  # metadata by range
    assert read == {f"core-1.{i}-py3-none-any.whl" for i in (12, 11, 10, 9, 8, 7, 6, 5)}


def test_a_conflict_with_a_known_name_is_met_before_a_new_name_is_read(
    make_index: object, work: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`'typing-extensions<4.6' pydantic`: each pydantic 2 pins its own pydantic-core and needs
    typing-extensions>=4.6.1. resolvelib adds a release's requirements in order and stops at the
    first with no candidate; pydantic-core came first, so every pydantic 2 had its pydantic-core
    read (metadata, one round trip each) before typing-extensions refused it: 7.3 s cold, now
    1 s (uv 1.4 s). Requirements on names already found now come first."""
    server, publish = _index(make_index, tmp_path)
    publish("te", "4.5")
    publish("te", "4.7")
    publish("pyd", "1.10", "te")
    for i in range(10):
        publish("core", f"2.{i}")
        publish("pyd", f"2.{i}", "annotated", f"core==2.{i}", "te>=4.6")
    publish("annotated", "0.7")
    run = tripin(capsys, *lock_args(server.simple_url, work / "c", X86, extra=["te<4.6", "pyd"]))
    assert run.code == 0, run.err
    assert _versions(work)["pyd"] == "1.10"
    cores = {path for path in server.paths() if path.startswith("/files/core-")}
    assert len(cores) <= 2, cores  # what the prefetcher reads of the newest, not one per pyd release


def test_the_pin_check_remembered_between_rounds_changes_no_answer(make_index: object, tmp_path: Path) -> None:
    """resolvelib checks every pin against every requirement on its name each round (33,000
    checks on the real project's eight targets); tripin.resolver.engine remembers the answer
    while a name's criterion and pin are the same objects. The resolution, backtracking
    included, must come out as resolvelib's own does, with far fewer checks."""
    from resolvelib import BaseReporter, Resolver

    from tripin.resolver import engine
    from tripin.resolver.factory import to_reqs
    from tripin.resolver.provider import Provider

    class Counting(Provider):
        checks = 0

        def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
            Counting.checks += 1
            return super().is_satisfied_by(requirement, candidate)

    server = _hub_index(make_index, tmp_path)
    client = IndexClient([Index(name="local", url=server.simple_url)], cache=Cache(tmp_path / "cache"))
    answers, checks = [], []
    for run in (engine.resolve, lambda p, r, roots, rounds: Resolver(p, r).resolve(roots, max_rounds=rounds)):
        factory = Factory(parse_target(X86), client, load_ruleset())
        roots = to_reqs([Requirement(r) for r in ("transformers", "peft", "datasets", "evaluate")], factory.env, "x")
        Counting.checks = 0
        result = run(Counting(factory), BaseReporter(), roots, 2000)
        answers.append({name: str(c.version) for name, c in result.mapping.items()})
        checks.append(Counting.checks)
    client.close()
    assert answers[0] == answers[1]
    # without tripin's ConflictTracker, resolvelib walks back to 2019's release: it backtracked
    assert answers[0]["transformers"] == "2.3.0"
    assert checks[0] * 2 < checks[1], checks
