"""The YafaRay XML loader: every shared scene, both dialects, and hostile input."""

import io

import numpy as np
import pytest
from PIL import Image

from corefarm.scene import SceneError, load_scene

from .tracer_support import SHARED_SCENES, shared_scene

MINIMAL = b"""<?xml version="1.0"?>
<scene type="triangle">
<material name="defaultMat"><type sval="shinydiffusemat"/></material>
%s
<camera name="cam">
  <from x="0" y="-5" z="0"/><to x="0" y="-4" z="0"/><up x="0" y="-5" z="1"/>
  <resx ival="64"/><resy ival="48"/><type sval="perspective"/>
</camera>
<render><camera_name sval="cam"/><width ival="64"/><height ival="48"/></render>
</scene>"""

TRIANGLE = b"""<mesh vertices="3" faces="1" has_orco="false" has_uv="false" type="0">
<p x="-1" y="0" z="0"/><p x="1" y="0" z="0"/><p x="0" y="0" z="1"/>
<set_material sval="defaultMat"/><f a="0" b="1" c="2"/></mesh>"""


def scene_with(body):
    return MINIMAL % body


@pytest.mark.parametrize("path", sorted(SHARED_SCENES.glob("*.xml")), ids=lambda p: p.name[:2])
def test_every_shared_scene_loads_or_is_refused_clearly(path):
    if path.name.startswith("07"):
        with pytest.raises(SceneError, match="v4 container"):
            load_scene(path)
        return
    scene = load_scene(path)
    assert scene.render.width > 0 and scene.render.height > 0
    assert all(isinstance(w, str) for w in scene.warnings)


def test_handmade_249_scene_content():
    scene = load_scene(shared_scene("00"))
    assert scene.dialect == "0.1"
    assert scene.geometry.triangle_count == 10
    assert [light.kind for light in scene.lights] == ["point", "sun"]
    # The point light's radiometric intensity is pi * colour * power (docs §3).
    assert scene.lights[0].color == pytest.approx((np.pi * 450,) * 3)
    assert scene.integrator.kind == "direct" and scene.integrator.raydepth == 2
    assert scene.render.filter == "mitchell" and scene.render.gamma == pytest.approx(1.8)
    assert scene.render.samples == 4
    red = next(m for m in scene.materials if m.name.startswith("Red"))
    assert red.fresnel and red.ior == pytest.approx(1.5)
    # The octahedron is smoothed (angle 181): its triangles carry normals.
    assert (scene.geometry.tri_normals[2:] >= 0).all()
    assert (scene.geometry.tri_normals[:2] == -1).all()
    assert scene.geometry.tri_uvs[0].tolist() == [0, 1, 2]
    assert scene.warnings == []


def test_rhino_scene_camera_repaired_and_dangling_texture_warned():
    scene = load_scene(shared_scene("01"))
    assert scene.background.kind == "sunsky"
    assert [light.kind for light in scene.lights] == ["sun"]      # add_sun
    assert any("'Tex' is not defined" in w for w in scene.warnings)
    assert any("'up' looks like a direction" in w for w in scene.warnings)
    cam = scene.camera
    # Looking roughly at the scene: forward has a positive component towards it.
    to_scene = np.array([12.0, -30.0, 25.0]) - np.array(cam.eye)
    assert np.dot(cam.z, to_scene / np.linalg.norm(to_scene)) > 0.9
    assert np.allclose(np.cross(cam.z, cam.x), cam.y, atol=1e-6)


def test_v3_scene_decodes_srgb_colours_and_tolerates_missing_images():
    scene = load_scene(shared_scene("04"))
    assert scene.dialect == "v3"
    assert scene.materials[0].color[0] == pytest.approx(0.8, abs=1e-3)   # 0.906 sRGB
    assert scene.render.output_space == "srgb"
    assert sum("not found" in w for w in scene.warnings) == 6
    assert scene.geometry.orco.shape == scene.geometry.positions.shape


def test_late_v3_object_blocks_are_meshes():
    scene = load_scene(shared_scene("05"))
    assert scene.geometry.triangle_count == 74
    assert len(scene.lights) == 2
    assert scene.camera.resx == 640             # render_view's cam_1


def test_template_without_camera_or_geometry_still_loads():
    scene = load_scene(shared_scene("03"))
    assert any("no <camera>" in w for w in scene.warnings)
    assert any("no geometry" in w for w in scene.warnings)


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"<scene><mesh>", "malformed XML"),
    (b"not xml at all", "malformed XML"),
    (b"<?xml version='1.0'?><image/>", "root element is <image>"),
    (b"<yafaray_container format_version='4.0.0'><scene/></yafaray_container>", "v4"),
])
def test_bad_documents_raise_scene_error(data, message):
    with pytest.raises(SceneError, match=message):
        load_scene(data)


def test_billion_laughs_is_refused():
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<scene>&lol3;</scene>"""
    with pytest.raises(SceneError, match="DTD|entities"):
        load_scene(bomb)


def test_external_entity_is_refused():
    xxe = b"""<?xml version="1.0"?><!DOCTYPE scene [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<scene><render><camera_name sval="&x;"/></render></scene>"""
    with pytest.raises(SceneError):
        load_scene(xxe)


def test_element_count_limit():
    from corefarm.scene import Limits
    with pytest.raises(SceneError, match="more than 10 XML elements"):
        load_scene(scene_with(TRIANGLE), limits=Limits(max_elements=10))


def test_unescaped_ampersand_in_a_path_is_repaired():
    body = b"""<texture name="T"><type sval="image"/><filename sval="/home/a&b/t.png"/></texture>"""
    scene = load_scene(scene_with(body + TRIANGLE))
    assert any("unescaped '&'" in w for w in scene.warnings)
    assert any("not found" in w for w in scene.warnings)


def test_unknown_things_become_warnings_not_errors():
    body = b"""<material name="M"><type sval="hairy_mat"/></material>
<light name="L"><type sval="laserlight"/></light>
<volumeregion name="V"><type sval="UniformVolume"/></volumeregion>
<teapot/>
<background name="world_background"><type sval="plasma"/></background>"""
    scene = load_scene(scene_with(body + TRIANGLE))
    text = "\n".join(scene.warnings)
    for needle in ("hairy_mat", "laserlight", "volume region", "<teapot>", "plasma"):
        assert needle in text


def test_strict_typing_and_coercion():
    body = b"""<light name="L"><type sval="pointlight"/><power ival="2"/>
<color r="1" g="1" b="1"/><from x="0" y="0" z="3"/></light>"""
    scene = load_scene(scene_with(body + TRIANGLE))
    assert scene.lights[0].color[0] == pytest.approx(2 * np.pi)
    assert any("written as ival" in w for w in scene.warnings)
    bad = b"""<light name="L"><type sval="pointlight"/><power sval="lots"/></light>"""
    scene = load_scene(scene_with(bad + TRIANGLE))
    assert scene.lights[0].color[0] == pytest.approx(np.pi)          # default power 1
    assert any("should be fval" in w for w in scene.warnings)


def test_bval_is_true_only_for_the_word_true():
    body = b"""<background name="world_background"><type sval="constant"/>
<color r="1" g="1" b="1"/><ibl bval="True"/></background>"""
    scene = load_scene(scene_with(body + TRIANGLE).replace(
        b"<render>", b"<render><background_name sval=\"world_background\"/>"))
    assert scene.background.kind == "constant" and scene.background.ibl is False


def test_bad_face_indices_are_skipped_with_a_warning():
    mesh = b"""<mesh vertices="3" faces="2" has_orco="false" has_uv="false" type="0">
<p x="0" y="0" z="0"/><p x="1" y="0" z="0"/><p x="0" y="0" z="1"/>
<f a="0" b="1" c="2"/><f a="0" b="1" c="99"/><f a="x" b="1" c="2"/></mesh>"""
    scene = load_scene(scene_with(mesh))
    assert scene.geometry.triangle_count == 1
    assert any("invalid vertex indices" in w for w in scene.warnings)


def test_smoothing_with_an_angle_keeps_hard_edges():
    # Two faces folded at 90 degrees: with angle 30 their shared edge stays hard.
    mesh = b"""<mesh vertices="4" faces="2" has_orco="false" has_uv="false" type="0">
<p x="0" y="0" z="0"/><p x="1" y="0" z="0"/><p x="0" y="1" z="0"/><p x="0" y="0" z="1"/>
<f a="0" b="1" c="2"/><f a="0" b="3" c="1"/></mesh><smooth ID="0" angle="30"/>"""
    g = load_scene(scene_with(mesh)).geometry
    n = g.normals[g.tri_normals]
    assert np.allclose(np.abs(n[0]), [0, 0, 1], atol=1e-6)
    assert np.allclose(np.abs(n[1]), [0, 1, 0], atol=1e-6)
    soft = load_scene(scene_with(mesh.replace(b'angle="30"', b'angle="181"'))).geometry
    shared = soft.normals[soft.tri_normals[0, 0]]
    assert abs(shared[1]) > 0.5 and abs(shared[2]) > 0.5


def test_image_texture_from_a_directory_and_confined_lookup(tmp_path):
    Image.new("RGB", (4, 2), (255, 0, 0)).save(tmp_path / "red.png")
    (tmp_path / "sub").mkdir()
    body = b"""<texture name="T"><type sval="image"/><filename sval="C:\\\\work\\\\red.png"/>
<gamma fval="1.8"/></texture>
<texture name="U"><type sval="image"/><filename sval="../../etc/passwd"/></texture>"""
    xml = tmp_path / "sub" / "s.xml"
    xml.write_bytes(scene_with(body + TRIANGLE))
    scene = load_scene(xml, base_dir=tmp_path)
    assert len(scene.images) == 1 and scene.images[0].width == 4
    assert scene.images[0].lut[255] == pytest.approx(1.0)
    assert scene.images[0].lut[128] == pytest.approx((128 / 255) ** 1.8, rel=1e-5)
    assert any("'../../etc/passwd' not found" in w for w in scene.warnings)


def test_textures_from_an_archive_mapping_by_base_name():
    buf = io.BytesIO()
    Image.new("RGBA", (2, 2), (0, 255, 0, 255)).save(buf, "PNG")
    body = b"""<texture name="T"><type sval="image"/><filename sval="/old/box/tex/g.png"/></texture>"""
    scene = load_scene(scene_with(body + TRIANGLE), files={"textures/g.png": buf.getvalue()})
    assert len(scene.images) == 1


def test_broken_image_falls_back_with_a_warning():
    body = b"""<texture name="T"><type sval="image"/><filename sval="bad.png"/></texture>"""
    scene = load_scene(scene_with(body + TRIANGLE), files={"bad.png": b"\x89PNG garbage"})
    assert scene.images == []
    assert any("cannot decode image" in w for w in scene.warnings)


def test_hdr_texture_decodes():
    from corefarm.scene.hdr import HdrError, decode_hdr

    from .tracer_support import OWN_SCENES
    with pytest.raises(HdrError):
        decode_hdr(b"#?RADIANCE\n\n-Y 100000 +X 100000\n", 1 << 20)
    rgb = decode_hdr((OWN_SCENES / "sky.hdr").read_bytes(), 1 << 20)
    assert rgb.shape == (32, 64, 3)
    assert rgb.max() == pytest.approx(40.0, rel=0.01)


def test_blend_and_light_materials_and_lights_of_every_kind():
    from .tracer_support import OWN_SCENES
    scene = load_scene(OWN_SCENES / "features.xml")
    kinds = {m.name: m.kind for m in scene.materials}
    assert kinds["RedMirror"] == "blend" and kinds["Lamp"] == "light"
    assert kinds["Glass"] == "glass" and kinds["Coated"] == "coated"
    assert {light.kind for light in scene.lights} == {"area", "spot"}
    studio = load_scene(OWN_SCENES / "studio.xml")
    assert {light.kind for light in studio.lights} == {"mesh", "sphere", "point"}
    assert studio.background.kind == "texture" and studio.camera.kind == "orthographic"
