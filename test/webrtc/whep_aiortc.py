"""A WHEP player made with aiortc (which decodes H.264 with PyAV), for framebus's tests.

    python3 whep_aiortc.py <whep-url> <frames> <timeout_s>

POSTs a recvonly offer, decodes <frames> frames of the track and prints one line per frame:
"frame <n> <width> <height>", where n is the synthetic scene's frame number read from the
bit strip in the decoded picture; then DELETEs the session and prints "done".
"""

import asyncio
import sys
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription

FRAME_CODE_BITS = 16


def frame_code(rgb, width, height):
    # The strip's geometry as src/source/synthetic-source.ts draws it.
    cell_width = width // (FRAME_CODE_BITS + 2)
    cell_height = max(8, height // 24)
    top = height - cell_height - 2
    cy = top + (cell_height >> 1)
    value = 0
    for bit in range(FRAME_CODE_BITS):
        cx = cell_width + bit * cell_width + (cell_width >> 1)
        luma = int(rgb[cy, cx, 0]) + int(rgb[cy, cx, 1]) + int(rgb[cy, cx, 2])
        value = value * 2 + (1 if luma / 3 > 128 else 0)
    return value


def http(method, url, body=None, content_type=None):
    request = urllib.request.Request(url, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


async def main(url, count, timeout):
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    track_ready = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(track):
        if not track_ready.done():
            track_ready.set_result(track)

    await pc.setLocalDescription(await pc.createOffer())
    status, headers, answer = await asyncio.to_thread(http, "POST", url, pc.localDescription.sdp.encode(), "application/sdp")
    if status != 201:
        raise SystemExit(f"WHEP answered {status}")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.decode(), type="answer"))
    track = await asyncio.wait_for(track_ready, timeout)
    for _ in range(count):
        frame = await asyncio.wait_for(track.recv(), timeout)
        rgb = frame.to_ndarray(format="rgb24")
        print(f"frame {frame_code(rgb, frame.width, frame.height)} {frame.width} {frame.height}", flush=True)
    location = urllib.parse.urljoin(url, headers.get("Location", ""))
    await asyncio.to_thread(http, "DELETE", location)
    await pc.close()
    print("done", flush=True)


if __name__ == "__main__":
    import urllib.parse

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
