"""Stage `soundbank` (rule soundbank): synthetic (offline default), desed (download), folder."""
