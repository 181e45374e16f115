"""monitor.frozen behaves as @dataclass(frozen=True) does, on twin classes."""

from __future__ import annotations

import dataclasses
from dataclasses import FrozenInstanceError, field

import pytest

from monitor.frozen import frozen


def twin(decorate):
    """The same class, decorated by ``decorate`` (both twins get the same qualified name)."""

    @decorate
    class Settings:
        name: str
        port: int = 25
        tags: list[str] = field(default_factory=list)
        note: str = field(default="", compare=False, repr=False)
        derived: int = field(init=False, default=0)

        def __post_init__(self) -> None:
            if self.port < 1:
                raise ValueError("port must be 1 or more")
            object.__setattr__(self, "derived", self.port * 2)

    return Settings


Frozen = twin(frozen)
Stock = twin(dataclasses.dataclass(frozen=True))
BOTH = pytest.mark.parametrize("cls", [Frozen, Stock], ids=["frozen", "dataclass"])


def test_the_twins_build_the_same_values():
    for args, kwargs in [(("a",), {}), (("a", 587), {}), ((), {"name": "a", "tags": ["x"], "note": "n"})]:
        mine, stock = Frozen(*args, **kwargs), Stock(*args, **kwargs)
        assert repr(mine) == repr(stock)
        assert dataclasses.astuple(mine) == dataclasses.astuple(stock)
        assert mine.derived == stock.derived  # __post_init__ ran


@BOTH
def test_a_default_factory_gives_each_instance_its_own_value(cls):
    first, second = cls("a"), cls("b")
    first.tags.append("x")
    assert second.tags == []


@BOTH
@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing 1 required positional argument: 'name'"),
        (("a", 1, [], "", 9), {}, "positional arguments but"),
        (("a",), {"colour": 1}, "unexpected keyword argument 'colour'"),
        (("a",), {"name": "b"}, "multiple values for argument 'name'"),
        (("a",), {"derived": 3}, "unexpected keyword argument 'derived'"),
    ],
)
def test_wrong_arguments_raise_type_errors(cls, args, kwargs, message):
    with pytest.raises(TypeError, match=message):
        cls(*args, **kwargs)


@BOTH
def test_post_init_validates(cls):
    with pytest.raises(ValueError, match="port must be 1 or more"):
        cls("a", 0)


@BOTH
def test_equality_and_hash_use_the_compared_fields(cls):
    assert cls("a", 25, ["x"], note="one") == cls("a", 25, ["x"], note="other")
    assert cls("a") != cls("a", 26)
    assert cls("a") != ("a", 25)
    with pytest.raises(TypeError, match="unhashable"):  # a list field, as with dataclass
        hash(cls("a"))
    assert Frozen("a") != Stock("a")  # another class is never equal


def test_equal_values_hash_alike():
    @frozen
    class Point:
        x: int
        y: int = 0

    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert len({Point(1, 2), Point(1, 2), Point(2)}) == 2

    def tagged(decorate):
        @decorate
        class Tagged:
            key: int
            label: str = field(default="", hash=False)  # compared, not hashed
            cache: list[int] = field(default_factory=list, compare=False, hash=False)

        return Tagged

    for cls in (tagged(frozen), tagged(dataclasses.dataclass(frozen=True))):
        assert hash(cls(1, "a", [1])) == hash(cls(1, "b")) == hash((1,))
        assert cls(1, "a") != cls(1, "b") and cls(1, "a", [1]) == cls(1, "a", [2])


@BOTH
def test_fields_cannot_be_assigned_or_deleted(cls):
    value = cls("a")
    with pytest.raises(FrozenInstanceError):
        value.name = "b"
    with pytest.raises(FrozenInstanceError):
        del value.name
    with pytest.raises(FrozenInstanceError):
        value.other = 1


@BOTH
def test_dataclass_helpers_work(cls):
    value = cls("a", 30, note="kept")
    assert dataclasses.is_dataclass(value)
    assert [f.name for f in dataclasses.fields(value)] == ["name", "port", "tags", "note", "derived"]
    changed = dataclasses.replace(value, port=40)
    assert (changed.name, changed.port, changed.note, changed.derived) == ("a", 40, "kept", 80)


def test_copies_and_pickles_are_equal():
    import copy
    import pickle

    from monitor import config as config_module

    loaded = config_module.load(None)  # the embedded default: every section a frozen class
    for value in (loaded, loaded.monitor, loaded.brands[0]):
        assert pickle.loads(pickle.dumps(value)) == value
        assert copy.deepcopy(value) == value and copy.copy(value) == value
