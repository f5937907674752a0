"""The scenes behind the committed reference renders and the gallery, with
the settings each is rendered at. Regenerate both after an intended change:

    PYTHONPATH=plugins python -m tests.corefarm.reference_scenes [--gallery]
"""

import sys
import time

from .tracer_support import OWN_SCENES, REFERENCES, ROOT, SHARED_SCENES

# name: (scene file, samples, integrator, what it exercises)
SCENES = {
    "00_handmade": (SHARED_SCENES / "00_HANDMADE_minimal_249_style.xml", 2, "scene",
                    "Blender 2.49-style export: clouds texture through a layer node, smooth "
                    "Fresnel-mirror octahedron, point + soft sun light, Mitchell filter, gamma 1.8."),
    "01_rhino": (SHARED_SCENES / "01_rhino-yafaray_2010_scene.xml", 4, "scene",
                 "Rhino plugin (2010): 7k-triangle glass vase with 30-degree auto-smooth, "
                 "Preetham sun-sky with added sun and sky lighting, camera written as vectors."),
    "02_gestalt": (SHARED_SCENES / "02_gestalt_2013_yafaray-example.xml", 2, "scene",
                   "Gestalt generator: clay model lit only by ambient occlusion against a "
                   "white background."),
    "03_template": (SHARED_SCENES / "03_gestalt_2013_yafaray-src.xml", 1, "scene",
                    "Template without camera or geometry: loads with warnings, renders the "
                    "background through a default camera."),
    "04_v3": (SHARED_SCENES / "04_libyafaray-v3_2016_test01.xml", 2, "scene",
              "libYafaRay v3 export: sRGB colours, orco cube-mapped textures whose images are "
              "missing (fallback to material colour), Gaussian filter."),
    "05_late_v3": (SHARED_SCENES / "05_libyafaray_2020-12_test01.xml", 2, "scene",
                   "Late-v3 dialect with <object> meshes, two point lights (one cyan) and "
                   "render views."),
    "06_blender282": (SHARED_SCENES / "06_yafaray-blender282_2020_test01.xml", 2, "scene",
                      "Blender 2.82 exporter: glossy, coated glossy and rough glass cubes, no "
                      "background."),
    "cornell": (OWN_SCENES / "cornell.xml", 16, "scene",
                "Our Cornell box: path tracing with an area light and its light_mat lamp, "
                "colour bleeding, a glass sphere."),
    "features": (OWN_SCENES / "features.xml", 4, "scene",
                 "Direct lighting zoo: PNG texture on UVs, glass with fake shadows, coated and "
                 "glossy spheres, a blend material, procedural wood, spot and area lights, "
                 "gradient sky light."),
    "studio": (OWN_SCENES / "studio.xml", 8, "scene",
               "Orthographic camera, HDR lat-long environment importance-sampled for lighting, "
               "a mesh light, a sphere light and a mirror-like glossy ball."),
}

REFERENCE_SIZE = (160, 120)
GALLERY_SIZE = (400, 300)
GALLERY_SAMPLES = {"cornell": 96, "studio": 32, "01_rhino": 24}


def render(name, size, samples=None):
    from corefarm.render.local import render_local
    from corefarm.scene import load_scene
    path, default_samples, integrator, _ = SCENES[name]
    scene = load_scene(path)
    return render_local(scene, size=size, samples=samples or default_samples,
                        integrator=integrator)


def main(argv):
    from corefarm.render.writers import write_image
    gallery = "--gallery" in argv
    names = [a for a in argv if not a.startswith("--")] or list(SCENES)
    REFERENCES.mkdir(exist_ok=True)
    for name in names:
        start = time.perf_counter()
        if gallery:
            job, image = render(name, GALLERY_SIZE, GALLERY_SAMPLES.get(name, 16))
            out = ROOT / "docs" / "images" / f"{name}.png"
        else:
            job, image = render(name, REFERENCE_SIZE)
            out = REFERENCES / f"{name}.png"
        job.write(str(out), image)
        print(f"{name}: {out.relative_to(ROOT)} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
