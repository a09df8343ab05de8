"""PyAV's view of a video, the reference the corpus tests compare framebus against.

Usage: reference.py VIDEO [OUTDIR all|I,J,...]
Prints JSON: frames decoded, their times (seconds from the first, presentation order),
which are key frames, picture size and frame rate. With OUTDIR, writes the
listed frames (by output position), or all, as raw RGB24 files OUTDIR/<i>.rgb.

Frames are taken in decoder output order, which is presentation order: on packed-B-frame
AVIs PyAV's own frame.pts runs backwards, so times are the sorted pts, not each frame's.
"""
import json
import sys

import av

path = sys.argv[1]
picked = sys.argv[3] if len(sys.argv) > 3 else ''
dump = None if picked == 'all' else {int(i) for i in picked.split(',') if i}
container = av.open(path)
stream = container.streams.video[0]
stream.thread_type = 'NONE'
pts, keys, size = [], [], None


def decoded():
    """Every frame that decodes: a damaged packet is skipped, a truncated file ends early."""
    try:
        for packet in container.demux(stream):
            try:
                yield from packet.decode()
            except av.AVError:
                continue
    except av.AVError:
        return


for i, frame in enumerate(decoded()):
    pts.append(frame.pts)
    if frame.key_frame:
        keys.append(i)
    size = (frame.width, frame.height)
    if dump is None or i in dump:
        # Bicubic, as framebus converts: the default (bilinear) differs at sharp chroma edges.
        rgb = frame.to_ndarray(format='rgb24', interpolation='BICUBIC')
        with open(f'{sys.argv[2]}/{i}.rgb', 'wb') as f:
            f.write(rgb.tobytes())
rate = stream.average_rate or stream.guessed_rate
if None in pts:
    # Raw elementary streams carry no timestamps: frame i is shown at i / rate.
    times = [i / float(rate) for i in range(len(pts))]
else:
    tb = stream.time_base
    ordered = sorted(pts)
    times = [float((p - ordered[0]) * tb) for p in ordered]
print(json.dumps({'frames': len(pts), 'times': times, 'keys': keys, 'width': size and size[0], 'height': size and size[1], 'fps': float(rate)}))
