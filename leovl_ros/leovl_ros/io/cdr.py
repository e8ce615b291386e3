"""Read stamps and ``sensor_msgs/Image`` fields straight from serialised (CDR) ROS 2 messages, ROS-free.

A raw subscription (``create_subscription(..., raw=True)``) hands over the message as it came off the wire: a
4-byte encapsulation header (``00 01`` = CDR little-endian, ``00 00`` = big-endian; options in bytes 2–3) and
then the fields in declaration order, each aligned to its size relative to the byte after the header (XCDR1, what
rmw_fastrtps and rmw_cyclonedds write). Every message that starts with a ``std_msgs/Header`` therefore has its
stamp at a fixed place: ``int32 sec`` at byte 4, ``uint32 nanosec`` at byte 8 — so a frame can be synced,
counted and dropped without deserialising ~1.5 MB of pixels. ``image_fields`` parses a raw ``sensor_msgs/Image``
(header, height, width, encoding, is_bigendian, step, data) into an object with the message's field names whose
``data`` is a zero-copy ``memoryview`` of the buffer, which ``leovl_ros.io.image_codec`` decodes like a message.
Malformed buffers raise ``ValueError`` naming what is wrong.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Union

Buffer = Union[bytes, bytearray, memoryview]
ENCAPSULATION_BYTES = 4
"""Size of the encapsulation header that precedes the CDR body."""
_KINDS = {b"\x00\x01": "<", b"\x00\x00": ">"}
"""Supported encapsulation kinds (plain CDR, XCDR1) → struct byte order."""


@dataclass(frozen=True)
class Stamp:
    """``builtin_interfaces/Time`` fields (so ``conversions.stamp_to_ns`` accepts it)."""

    sec: int
    nanosec: int

    @property
    def ns(self) -> int:
        """Nanoseconds since the epoch of the clock that stamped the message."""
        return self.sec * 1_000_000_000 + self.nanosec


@dataclass(frozen=True)
class Header:
    """``std_msgs/Header`` fields."""

    stamp: Stamp
    frame_id: str


@dataclass(frozen=True)
class ImageFields:
    """A raw ``sensor_msgs/Image`` with the message's field names; ``data`` is a view into the CDR buffer."""

    header: Header
    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: memoryview


def byte_order(buf: Buffer) -> str:
    """``'<'`` or ``'>'`` from the encapsulation header; ``ValueError`` for anything but plain CDR (XCDR1)."""
    if len(buf) < ENCAPSULATION_BYTES:
        raise ValueError(f"serialised message of {len(buf)} bytes has no encapsulation header")
    kind = bytes(buf[:2])
    if kind not in _KINDS:
        raise ValueError(f"unsupported CDR encapsulation {kind.hex()} (expected 0001 little- or 0000 big-endian)")
    return _KINDS[kind]


def header_stamp_ns(buf: Buffer) -> int:
    """Stamp (integer ns) of a serialised message whose first field is a ``std_msgs/Header``: no deserialisation."""
    if len(buf) < ENCAPSULATION_BYTES + 8:
        raise ValueError(f"serialised message of {len(buf)} bytes is too short for a header stamp")
    sec, nanosec = struct.unpack_from(byte_order(buf) + "iI", buf, ENCAPSULATION_BYTES)
    return sec * 1_000_000_000 + nanosec


def header_frame_id(buf: Buffer) -> str:
    """``header.frame_id`` of a serialised message whose first field is a ``std_msgs/Header``."""
    return read_header(_Reader(buf)).frame_id


class _Reader:
    """Sequential CDR reader over one buffer (alignment relative to the end of the encapsulation header)."""

    def __init__(self, buf: Buffer) -> None:
        self.view = memoryview(buf).cast("B") if not isinstance(buf, memoryview) else buf.cast("B")
        self.order = byte_order(self.view)
        self.pos = ENCAPSULATION_BYTES

    def _align(self, size: int) -> None:
        self.pos += (-(self.pos - ENCAPSULATION_BYTES)) % size

    def _take(self, n: int, what: str) -> int:
        start = self.pos
        if n < 0 or start + n > len(self.view):
            raise ValueError(f"CDR buffer of {len(self.view)} bytes ends inside {what} (needs {start + n})")
        self.pos = start + n
        return start

    def uint32(self, what: str) -> int:
        self._align(4)
        return struct.unpack_from(self.order + "I", self.view, self._take(4, what))[0]

    def int32(self, what: str) -> int:
        self._align(4)
        return struct.unpack_from(self.order + "i", self.view, self._take(4, what))[0]

    def uint8(self, what: str) -> int:
        return self.view[self._take(1, what)]

    def string(self, what: str) -> str:
        n = self.uint32(f"{what} length")
        start = self._take(n, what)
        raw = bytes(self.view[start : start + n])
        if n == 0 or raw[-1] != 0:  # CDR strings carry their NUL terminator in the length
            raise ValueError(f"{what}: CDR string without NUL terminator")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{what}: not UTF-8 ({exc})") from exc

    def octets(self, what: str) -> memoryview:
        n = self.uint32(f"{what} length")
        start = self._take(n, what)
        return self.view[start : start + n]


def read_header(reader: _Reader) -> Header:
    """A ``std_msgs/Header`` at the reader's position."""
    sec = reader.int32("header.stamp.sec")
    nanosec = reader.uint32("header.stamp.nanosec")
    return Header(Stamp(sec, nanosec), reader.string("header.frame_id"))


def image_fields(buf: Buffer) -> ImageFields:
    """Parse a serialised ``sensor_msgs/Image``; ``data`` stays a view of ``buf`` (keep ``buf`` alive with it)."""
    r = _Reader(buf)
    header = read_header(r)
    height = r.uint32("height")
    width = r.uint32("width")
    encoding = r.string("encoding")
    is_bigendian = r.uint8("is_bigendian")
    step = r.uint32("step")
    data = r.octets("data")
    return ImageFields(header, height, width, encoding, is_bigendian, step, data)
