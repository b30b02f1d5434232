"""The examples in the package's docstrings run and print what they claim."""

import doctest

import pytest

import stratadb
from stratadb import Strata

DOCUMENTED = {
    "stratadb": stratadb,
    "Strata": Strata,
    **{f"Strata.{name}": getattr(Strata, name) for name in ("open", "cache", "kv_put", "kv_get", "close")},
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_docstring_examples(name):
    doc = DOCUMENTED[name].__doc__
    assert doc, f"{name} has no docstring"
    test = doctest.DocTestParser().get_doctest(doc, {"Strata": Strata}, name, None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {name}"


def test_most_docstrings_have_examples():
    with_examples = [n for n, obj in DOCUMENTED.items() if ">>>" in (obj.__doc__ or "")]
    assert len(with_examples) >= 5, with_examples
