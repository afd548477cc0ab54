"""Neuropathology report text for demo patients.

Reports follow the structure of real surgical neuropathology reports (final diagnosis,
comment, clinical history, specimen, gross and microscopic description, immunohistochemistry,
molecular studies) in two institution templates. They carry the class partially and noisily, the
way real reports do at the time of sign-out:

* about 45 % give an integrated WHO CNS5 diagnosis that names the class;
* about 35 % are descriptive ("infiltrating glioma, high grade") with the integrated diagnosis
  pending molecular studies; the immunostains (IDH1 R132H, ATRX, p53, Ki-67) still hint at
  IDH status and grade, and 1p/19q is often pending;
* about 12 % are ambiguous (mixed features, non-diagnostic sample) and about 8 % state a
  preliminary diagnosis of a neighbouring class that was later revised.

Every report is marked as synthetic and names no real person.
"""

from __future__ import annotations

import numpy as np

from corebt_viewer.io.demo import plan as P

_INTEGRATED = {
    P.GBM: "Glioblastoma, IDH-wildtype, CNS WHO grade 4",
    P.ASTRO: "Astrocytoma, IDH-mutant, CNS WHO grade {grade}",
    P.OLIGO: "Oligodendroglioma, IDH-mutant and 1p/19q-codeleted, CNS WHO grade {grade}",
    P.CIRCUMSCRIBED: "Pilocytic astrocytoma, CNS WHO grade 1",
    P.MIDLINE: "Diffuse midline glioma, H3 K27-altered, CNS WHO grade 4",
    P.PEDIATRIC: "Diffuse astrocytoma, MYB- or MYBL1-altered, CNS WHO grade 1",
    P.OTHER_NEC: "Low-grade glial/glioneuronal neoplasm, NEC",
}
_GLIONEURONAL = {
    "SEGA": "Subependymal giant cell astrocytoma, CNS WHO grade 1",
    "RGNT": "Rosette-forming glioneuronal tumour, CNS WHO grade 1",
    "Ganglioglioma": "Ganglioglioma, CNS WHO grade 1",
}
#: A neighbouring class a preliminary (later revised) diagnosis may name.
_CONFUSED = {
    P.GBM: "High-grade astrocytoma; IDH status to follow",
    P.ASTRO: "Oligodendroglioma, pending 1p/19q testing",
    P.OLIGO: "Diffuse astrocytoma, IDH-mutant (preliminary)",
    P.CIRCUMSCRIBED: "Low-grade diffuse glioma, favour astrocytoma",
    P.MIDLINE: "Glioblastoma (preliminary; H3 status pending)",
    P.GLIONEURONAL: "Low-grade glioma, NOS",
    P.PEDIATRIC: "Pilocytic astrocytoma versus diffuse astrocytoma",
    P.OTHER_NEC: "Diffuse astrocytoma, NOS",
}


def _lobe(centre) -> tuple[str, str]:
    x, y, z = centre
    side = "right" if x > 0 else "left"
    if abs(x) < 9 and z < 20:
        return "midline", "thalamic" if z > -10 else "posterior fossa"
    if y < -40 and z < -20:
        return side, "cerebellar"
    if y > 20:
        return side, "frontal"
    if z < 5:
        return side, "temporal"
    return side, "parietal"


def _grade_words(grade: int) -> str:
    return "high grade" if grade >= 3 else "low grade"


def _ihc(plan: P.PatientPlan, rng: np.random.Generator) -> list[str]:
    cls, grade = plan.level1, plan.who_grade
    idh_mutant = cls in (P.ASTRO, P.OLIGO)
    lines = ["GFAP: positive in tumour cells", "OLIG2: diffusely positive"]
    u = rng.random()
    if idh_mutant:
        idh = (
            "positive"
            if u < 0.82
            else ("negative (non-canonical mutation not excluded)" if u < 0.94 else "not performed")
        )
    else:
        idh = (
            "negative"
            if u < 0.88
            else ("equivocal, weak staining" if u < 0.95 else "not performed")
        )
    lines.append(f"IDH1 R132H: {idh}")
    if cls == P.ASTRO:
        atrx = "loss of nuclear expression" if rng.random() < 0.8 else "retained"
        p53 = f"strong nuclear staining in about {int(rng.integers(30, 80))}% of cells"
    elif cls == P.OLIGO:
        atrx = "retained" if rng.random() < 0.93 else "equivocal"
        p53 = f"scattered weak staining (<{int(rng.integers(5, 10))}%)"
    else:
        atrx = "retained" if rng.random() < 0.85 else "loss of nuclear expression"
        p53 = (
            f"positive in about {int(rng.integers(10, 60))}% of cells"
            if rng.random() < 0.5
            else "wild-type pattern"
        )
    lines += [f"ATRX: {atrx}", f"p53: {p53}"]
    ki = {1: (1, 4), 2: (2, 6), 3: (6, 20), 4: (15, 50)}[grade]
    lines.append(f"Ki-67 (MIB-1): labelling index about {int(rng.integers(*ki))}%")
    if cls == P.MIDLINE or rng.random() < 0.12:
        lines.append(
            "H3 K27M: "
            + (
                "positive; H3 K27me3 lost"
                if cls == P.MIDLINE and rng.random() < 0.9
                else "negative"
            )
        )
    if cls == P.GLIONEURONAL:
        lines.append("Synaptophysin: positive in the neuronal component; NeuN: focal")
    if cls == P.CIRCUMSCRIBED and rng.random() < 0.5:
        lines.append("BRAF V600E (VE1): negative")
    return lines


def _molecular(plan: P.PatientPlan, rng: np.random.Generator) -> list[str]:
    cls = plan.level1
    u = rng.random()
    if cls == P.OLIGO:
        codel = (
            "1p/19q codeletion detected" if u < 0.55 else "pending" if u < 0.93 else "not performed"
        )
    elif cls == P.ASTRO:
        codel = "no 1p/19q codeletion" if u < 0.4 else "pending"
    else:
        codel = "not requested" if u < 0.7 else "no 1p/19q codeletion"
    lines = [
        f"1p/19q FISH: {codel}",
        "MGMT promoter methylation: "
        + (
            "pending"
            if rng.random() < 0.7
            else ("methylated" if rng.random() < 0.5 else "unmethylated")
        ),
    ]
    ngs = "pending"
    v = rng.random()
    if v < 0.35:
        if cls == P.GBM:
            ngs = rng.choice(
                [
                    "TERT promoter mutation; EGFR amplification",
                    "TERT promoter mutation; CDKN2A/B homozygous deletion",
                    "gain of chromosome 7 and loss of chromosome 10",
                ]
            )
        elif cls == P.ASTRO:
            ngs = "IDH1 p.R132H; TP53 and ATRX mutations" + (
                "; CDKN2A/B homozygous deletion" if plan.who_grade == 4 else ""
            )
        elif cls == P.OLIGO:
            ngs = "IDH1 p.R132H; TERT promoter mutation; CIC mutation"
        elif cls == P.CIRCUMSCRIBED:
            ngs = "KIAA1549::BRAF fusion"
        elif cls == P.MIDLINE:
            ngs = "H3-3A p.K28M (K27M)"
        else:
            ngs = "no diagnostic alteration identified"
    lines.append(f"Next-generation sequencing panel: {ngs}")
    return lines


def _microscopic(plan: P.PatientPlan, seed: int, rng: np.random.Generator) -> str:
    """Microscopic description of what the first slide actually shows."""
    from corebt_viewer.io.demo.histology import histology_style

    st = histology_style(plan, P.patient_rng(seed, plan.index, "wsi0"))
    grade = plan.who_grade
    s = []
    if st.spacing < 21:
        cellularity = "a hypercellular"
    elif st.spacing < 25:
        cellularity = "a moderately cellular"
    else:
        cellularity = "a mildly cellular"
    if st.rosenthal > 0.4 and st.biphasic > 0:
        s.append(
            "Sections show a biphasic glial neoplasm with compact piloid areas and loose "
            "microcystic areas."
        )
        if rng.random() < 0.7:
            s.append("Rosenthal fibres and eosinophilic granular bodies are present.")
    elif st.halo > 0.5:
        s.append(
            f"Sections show {cellularity} infiltrating glioma composed of cells with round, "
            "uniform nuclei and perinuclear clearing"
            + (", set in a delicate branching capillary network." if st.capillaries > 0 else ".")
        )
    else:
        shape = "elongated, irregular" if st.elongation > 1.5 else "round to oval"
        s.append(
            f"Sections show {cellularity} infiltrating glial neoplasm composed of cells with "
            f"{shape} hyperchromatic nuclei in a fibrillary background."
        )
    if st.giant > 0.005:
        s.append("There is marked nuclear pleomorphism with bizarre multinucleated cells.")
    if st.necrosis > 0:
        s.append("There are foci of necrosis with pseudopalisading.")
    elif grade >= 3 and rng.random() < 0.6:
        s.append("Necrosis is not identified in the sampled tissue.")
    if st.mvp > 0.4:
        s.append("Microvascular proliferation is present.")
    s.append("Mitoses are " + ("easily found." if st.mitoses > 0 else "not readily identified."))
    if st.calcospherites > 0.1:
        s.append("Microcalcifications are present.")
    if st.microcysts > 0.4 and st.biphasic == 0:
        s.append("Microcystic change is seen.")
    if st.ganglion > 0:
        s.append("Dysmorphic ganglion-like cells are scattered through the lesion.")
    if rng.random() < 0.15:
        s.append("Part of the specimen consists of gliotic brain parenchyma with reactive changes.")
    return " ".join(s)


def _diagnosis(plan: P.PatientPlan, rng: np.random.Generator) -> tuple[str, str]:
    """Final diagnosis line and comment."""
    cls, grade = plan.level1, plan.who_grade
    exact = _GLIONEURONAL.get(plan.subtype) if cls == P.GLIONEURONAL else _INTEGRATED[cls]
    exact = (exact or "Glioneuronal tumour, NOS").format(grade=grade)
    u = rng.random()
    if u < 0.45:
        return (
            exact,
            "The histological and molecular findings support the integrated diagnosis above.",
        )
    if u < 0.80:
        gw = _grade_words(grade)
        line = rng.choice(
            [
                f"Infiltrating glioma, {gw}; see comment",
                f"Diffuse glioma, {gw} features",
                "Glial neoplasm; final integrated diagnosis pending molecular studies",
            ]
        )
        return (
            str(line),
            "An addendum will follow with the results of pending molecular studies and the integrated diagnosis.",
        )
    if u < 0.92:
        line = rng.choice(
            [
                "Glioma with mixed astrocytic and oligodendroglial features, NOS",
                "Atypical glial proliferation; a diffuse glioma cannot be excluded",
                "Glial neoplasm, insufficient material for grading",
            ]
        )
        return str(
            line
        ), "The sample is limited; correlation with imaging and molecular results is recommended."
    return _CONFUSED[
        cls
    ], "Preliminary diagnosis; please see the addendum for the final classification."


def make_report(plan: P.PatientPlan, seed: int) -> str:
    """The neuropathology report of a patient (pure function of the plan and the seed)."""
    from corebt_viewer.io.demo.phantom import tumour_phenotype

    pheno = tumour_phenotype(plan, P.patient_rng(seed, plan.index, "mri"))
    rng = P.patient_rng(seed, plan.index, "report")
    side, lobe = _lobe(pheno.centre)
    site = f"{side} {lobe}" if side != "midline" else lobe
    age = (
        int(rng.integers(4, 18))
        if plan.level1 in (P.CIRCUMSCRIBED, P.PEDIATRIC)
        else int(rng.integers(24, 80))
    )
    sex = "male" if rng.random() < 0.55 else "female"
    symptom = rng.choice(
        [
            "new-onset seizures",
            "headaches",
            "progressive weakness",
            "confusion",
            "visual disturbance",
            "gait instability",
        ]
    )
    imaging = {
        "ring": "an enhancing mass with central necrosis and surrounding oedema",
        "nodule": "a cystic lesion with an enhancing mural nodule",
        "solid": "a well-defined enhancing lesion",
        "patchy": "a T2-hyperintense lesion with patchy enhancement",
        "none": "a non-enhancing T2/FLAIR-hyperintense lesion",
    }[pheno.enhancement]
    history = f"{age}-year-old {sex} with {symptom}. " + (
        f"MRI shows {imaging} in the {site} region."
        if rng.random() < 0.5
        else f"Imaging shows a {site} lesion."
    )
    n = max(1, plan.n_slides)
    procedure = rng.choice(["stereotactic biopsy", "resection", "subtotal resection"])
    specimens = [
        f"{chr(65 + k)}. Brain, {site} lesion, {procedure if k == 0 else 'additional tissue'}"
        for k in range(n)
    ]
    gross = [
        f"{chr(65 + k)}. Received in formalin labelled with the patient identifier are multiple fragments of "
        f"tan-grey soft tissue aggregating {rng.uniform(0.4, 3.5):.1f} x {rng.uniform(0.3, 2.0):.1f} x "
        f"{rng.uniform(0.2, 1.0):.1f} cm, entirely submitted in cassette {chr(65 + k)}1."
        for k in range(n)
    ]
    diagnosis, comment = _diagnosis(plan, rng)
    ihc = _ihc(plan, rng)
    mol = _molecular(plan, rng)
    micro = _microscopic(plan, seed, rng)
    accession = f"NP26-{int(rng.integers(1000, 9999))}"
    header = [
        "SYNTHETIC DEMO REPORT - generated data, not a real patient",
        f"NEUROPATHOLOGY REPORT    Accession: {accession}    Patient: {plan.patient_id}",
        "",
    ]
    blocks_a = [
        ("FINAL DIAGNOSIS", [f"{specimens[0].split('.', 1)[1].strip()}:", f"  {diagnosis}"]),
        ("COMMENT", [comment]),
        ("IMMUNOHISTOCHEMISTRY", ihc),
        ("MOLECULAR STUDIES", mol),
        ("CLINICAL HISTORY", [history]),
        ("SPECIMEN", specimens),
        ("GROSS DESCRIPTION", gross),
        ("MICROSCOPIC DESCRIPTION", [micro]),
    ]
    if rng.random() < 0.5:
        blocks = blocks_a
    else:  # second institution template: history first, then diagnosis
        blocks = [
            blocks_a[4],
            blocks_a[5],
            blocks_a[0],
            blocks_a[7],
            blocks_a[2],
            blocks_a[3],
            blocks_a[6],
            blocks_a[1],
        ]
    lines = list(header)
    for title, body in blocks:
        lines.append(f"{title}:")
        lines += [f"  {b}" if not b.startswith("  ") else b for b in body]
        lines.append("")
    lines.append("Electronically signed by: Demo Neuropathologist, MD")
    return "\n".join(lines) + "\n"
