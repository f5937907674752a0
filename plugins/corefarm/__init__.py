"""corefarm: the cooperative YafaRay rendering farm on naclgrid."""
