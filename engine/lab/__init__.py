"""Lab peers (RADIUS servers, LACs, CPEs) that let the router's dial-out run on one machine."""
