"""kpopcam: saves portraits of your star showing the emotion you chose."""

import os

# OpenCV and FFmpeg write their own warnings to the terminal ("can't open camera by index" for
# each probed camera, "moov atom not found" for a broken video); kpopcam says what went wrong
# in words instead. Set before cv2 is first imported; a user's own values win.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
