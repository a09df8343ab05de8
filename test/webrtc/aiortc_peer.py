"""An aiortc peer that speaks framebus's DataChannel frames (src/bus/webrtc/dc-frame.ts).

Usage: aiortc_peer.py <signaling url> <token> <lcm-gen python dir> <big bytes>

Dials the server like `webrtc://` does (POST the SDP offer to /webrtc/bus), subscribes to
`to_py/.*`, waits for the round trip, then publishes three framebus.twist_t on
`from_py/twist` and one framebus.video_packet_t with <big bytes> of data on `from_py/big`
(fragments of at most 60,000 bytes). It prints one JSON line once it has received three
twists and one video packet on `to_py/...`, decoded with lcm-gen's Python classes, with the
number of batch frames (kind 6: several frames in one DataChannel message) they came in.
"""
import asyncio
import hashlib
import json
import struct
import sys
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription

URL, TOKEN, GEN_DIR, BIG = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, GEN_DIR)
from framebus import twist_t, video_packet_t  # noqa: E402  (generated at test time)

MESSAGE, FRAGMENT, SUBSCRIBE, UNSUBSCRIBE, PING, PONG, BATCH = range(7)


def unbatch(data: bytes) -> list:
    """The frames of a batch: u16 count, then count times u16 length and a frame; [] when malformed."""
    (count,) = struct.unpack(">H", data[1:3])
    frames, at = [], 3
    while at < len(data):
        if at + 2 > len(data):
            return []
        (length,) = struct.unpack(">H", data[at:at + 2])
        frame = data[at + 2:at + 2 + length]
        if len(frame) != length or length == 0 or frame[0] == BATCH:
            return []
        frames.append(frame)
        at += 2 + length
    return frames if len(frames) == count and count > 0 else []


def message_frame(channel: str, payload: bytes) -> bytes:
    name = channel.encode()
    return bytes([MESSAGE]) + struct.pack(">H", len(name)) + name + payload


def fragment_frames(channel: str, payload: bytes, message_id: int, chunk: int) -> list:
    name = channel.encode()
    count = (len(payload) + chunk - 1) // chunk
    frames = []
    for index in range(count):
        offset = index * chunk
        piece = payload[offset:offset + chunk]
        header = struct.pack(">IIIII", message_id, index, count, offset, len(payload))
        frames.append(bytes([FRAGMENT]) + struct.pack(">H", len(name)) + name + header + piece)
    return frames


def twist(i: int) -> bytes:
    t = twist_t()
    t.timestamp_ns = 1000 + i
    t.linear = [float(i), 2.5, -1.0]
    t.angular = [0.0, 0.0, 0.25 * i]
    return t.encode()


def big_packet() -> bytes:
    p = video_packet_t()
    p.timestamp_ns = 77
    p.sequence = 5
    p.frame_id = 5
    p.codec = "h264"
    p.key = True
    p.width = 64
    p.height = 48
    p.data = bytes((i * 7) & 255 for i in range(BIG))
    p.data_size = len(p.data)
    return p.encode()


async def main() -> None:
    pc = RTCPeerConnection()
    reliable = pc.createDataChannel("reliable", ordered=True)
    pc.createDataChannel("unreliable", ordered=False, maxRetransmits=0)
    pending = {}
    batches = [0]
    twists = []
    bigs = []
    done = asyncio.Event()
    pong = asyncio.Event()

    def deliver(channel: str, payload: bytes) -> None:
        if channel == "to_py/twist":
            m = twist_t.decode(payload)
            twists.append({"timestamp_ns": m.timestamp_ns, "linear": list(m.linear), "angular": list(m.angular)})
        elif channel == "to_py/big":
            m = video_packet_t.decode(payload)
            bigs.append({"sequence": m.sequence, "bytes": len(m.data), "sha256": hashlib.sha256(m.data).hexdigest()})
        if len(twists) >= 3 and len(bigs) >= 1:
            done.set()

    @reliable.on("message")
    def on_message(data) -> None:
        if data[0] == BATCH:
            batches[0] += 1
            for frame in unbatch(data):
                on_frame(frame)
        else:
            on_frame(data)

    def on_frame(data) -> None:
        kind = data[0]
        if kind == PONG:
            pong.set()
        elif kind in (MESSAGE, FRAGMENT):
            (length,) = struct.unpack(">H", data[1:3])
            channel = data[3:3 + length].decode()
            rest = data[3 + length:]
            if kind == MESSAGE:
                deliver(channel, rest)
                return
            message_id, index, count, offset, total = struct.unpack(">IIIII", rest[:20])
            buf = pending.setdefault(message_id, {"data": bytearray(total), "seen": set()})
            buf["data"][offset:offset + len(rest) - 20] = rest[20:]
            buf["seen"].add(index)
            if len(buf["seen"]) == count:
                del pending[message_id]
                deliver(channel, bytes(buf["data"]))

    opened = asyncio.Event()
    reliable.on("open", opened.set)
    await pc.setLocalDescription(await pc.createOffer())
    request = urllib.request.Request(URL, data=pc.localDescription.sdp.encode(), method="POST",
                                     headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {TOKEN}"})
    answer = await asyncio.get_running_loop().run_in_executor(None, lambda: urllib.request.urlopen(request, timeout=10).read().decode())
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await asyncio.wait_for(opened.wait(), 10)
    reliable.send(bytes([SUBSCRIBE]) + struct.pack(">I", 1) + b"to_py/.*")
    reliable.send(bytes([PING]) + struct.pack(">I", 7))
    await asyncio.wait_for(pong.wait(), 10)
    for i in range(3):
        reliable.send(message_frame("from_py/twist", twist(i)))
    for frame in fragment_frames("from_py/big", big_packet(), 1, 60000):
        reliable.send(frame)
    await asyncio.wait_for(done.wait(), 15)
    print(json.dumps({"twists": twists, "bigs": bigs, "batches": batches[0], "sent_big_sha256": hashlib.sha256(bytes((i * 7) & 255 for i in range(BIG))).hexdigest()}), flush=True)
    await pc.close()


asyncio.run(main())
