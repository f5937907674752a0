"""Safe, streaming walk over a YafaRay XML document.

defusedxml refuses DTDs and entities (XML bombs); element count and depth
limits bound the rest. Mesh children (``<p>``, ``<f>``, ``<uv>``) are handed
over one by one and dropped immediately, so a million-triangle file never
sits in memory as an element tree.
"""

import io
import re
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

import defusedxml
from defusedxml.ElementTree import iterparse

from .errors import SceneError
from .params import Params

V3_MARKERS = (b"<render_passes", b"<logging_badge", b"<scene_parameters", b"obj_pass_index",
              b"<object_parameters", b"<mesh id=", b"<color_space ")
BARE_AMPERSAND = re.compile(rb"&(?!(?:#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z_][\w.-]*);)")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 512 * 1024 * 1024
    max_elements: int = 60_000_000
    max_depth: int = 8
    max_vertices: int = 20_000_000
    max_faces: int = 20_000_000
    max_meshes: int = 200_000


def detect_dialect(data):
    if b"<yafaray_container" in data[:65536]:
        return "v4"
    if any(marker in data for marker in V3_MARKERS):
        return "v3"
    return "0.1"


def block_params(elem, where, warnings, color_space):
    """A flat parameter block plus its ``<list_element>`` sub-blocks."""
    params = Params(where, warnings, color_space)
    elements = []
    for child in elem:
        if child.tag == "list_element":
            sub = Params(f"{where} node", warnings, color_space)
            for grand in child:
                sub.set(grand.tag, grand.attrib)
            elements.append(sub)
        else:
            params.set(child.tag, child.attrib)
    return params, elements


def walk(data, builder, limits):
    """Feed ``builder`` with the document; raise SceneError on bad XML."""
    try:
        _walk(data, builder, limits)
    except ParseError as exc:
        fixed = BARE_AMPERSAND.sub(b"&amp;", data)
        if fixed == data:
            raise SceneError(f"malformed XML: {exc}") from None
        builder.reset()
        builder.warnings.add("scene contains unescaped '&' characters; repaired")
        try:
            _walk(fixed, builder, limits)
        except ParseError as exc2:
            raise SceneError(f"malformed XML: {exc2}") from None
    except defusedxml.DTDForbidden:
        raise SceneError("scene XML must not contain a DTD (<!DOCTYPE>)") from None
    except defusedxml.EntitiesForbidden:
        raise SceneError("scene XML must not declare entities (possible XML bomb)") from None
    except defusedxml.ExternalReferenceForbidden:
        raise SceneError("scene XML must not reference external resources") from None
    except RecursionError:
        raise SceneError("scene XML is nested too deeply") from None


def _walk(data, builder, limits):
    stack = []
    count = 0
    mesh_mode = None          # None | "mesh" | "object"
    events = iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True)
    for event, elem in events:
        if event == "start":
            depth = len(stack)
            stack.append(elem)
            count += 1
            if count > limits.max_elements:
                raise SceneError(f"scene has more than {limits.max_elements} XML elements")
            if depth >= limits.max_depth:
                raise SceneError("scene XML is nested too deeply")
            if depth == 0:
                if elem.tag == "yafaray_container":
                    raise SceneError(
                        "YafaRay v4 container format (<yafaray_container>, libYafaRay-Xml "
                        "4.x) is not supported; export the scene in the 0.1.x or v3 "
                        "XML format")
                if elem.tag != "scene":
                    raise SceneError(f"not a YafaRay scene: root element is <{elem.tag}>, "
                                     "expected <scene>")
                builder.scene_start(elem.attrib)
            elif depth == 1:
                if elem.tag == "mesh":
                    mesh_mode = "mesh"
                    builder.mesh_start(elem.attrib)
                elif elem.tag == "object":
                    mesh_mode = "object"
            continue
        stack.pop()
        depth = len(stack)
        if depth == 2 and mesh_mode is not None:
            tag = elem.tag
            parent = stack[-1]
            if mesh_mode == "object" and tag in ("p", "f", "uv", "set_material"):
                builder.object_mesh_start(parent.get("name", ""),
                                          Params("object", builder.warnings))
                mesh_mode = "mesh"
            if tag == "p":
                builder.mesh_point(elem.attrib)
            elif tag == "f":
                builder.mesh_face(elem.attrib)
            elif tag == "uv":
                builder.mesh_uv(elem.attrib)
            elif tag == "set_material":
                builder.mesh_material(elem.attrib)
            elif tag == "object_parameters":
                if mesh_mode == "object":
                    params, _ = block_params(elem, f"object '{elem.get('name', '')}'",
                                             builder.warnings, builder.color_space)
                    builder.object_mesh_start(elem.get("name", ""), params)
                    mesh_mode = "mesh"
            elif mesh_mode == "mesh":
                builder.mesh_other(tag)
            else:
                continue          # keep: a plain <object> parameter block
            parent.remove(elem)
        elif depth == 1:
            root = stack[0]
            if mesh_mode == "mesh":
                builder.mesh_end()
            elif mesh_mode == "object":
                params, _ = block_params(elem, f"object '{elem.get('name', '')}'",
                                         builder.warnings, builder.color_space)
                builder.object_block(elem.get("name", ""), params)
            else:
                builder.block(elem)
            mesh_mode = None
            root.remove(elem)
        elif depth == 0:
            builder.scene_end()
