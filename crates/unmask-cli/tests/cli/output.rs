//! What people read: plots, the demo, text reports.

use crate::common::{json, tmp, unmask};

#[test]
fn plots_and_demo() {
    let svg = tmp("plan.svg");
    let s = svg.display().to_string();
    let (code, _, err) = unmask(&[
        "plan",
        "--dist",
        "logfactor:n=300,eps=0.1",
        "--steps",
        "12",
        "--plot",
        &s,
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("</svg>"));
    let dir = tmp("demo");
    let d = dir.display().to_string();
    let (code, stdout, err) = unmask(&["demo", "--out", &d]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("== mds =="));
    for family in ["parity", "repeat", "mds", "logfactor", "product"] {
        assert!(dir.join(format!("{family}.svg")).exists(), "{family}");
    }
    let doc = json(&["demo", "--steps", "8"]);
    assert_eq!(doc["families"].as_array().unwrap().len(), 5);
}

#[test]
fn text_output_reads_well() {
    let (code, stdout, _) = unmask(&[
        "eval",
        "--dist",
        "mds:n=4,k=2,q=5",
        "--schedule",
        "1,3",
        "--unit",
        "bits",
    ]);
    assert_eq!(code, 0);
    assert!(stdout.contains("expected KL: 4.64386 bits"), "{stdout}");
    let (code, stdout, _) = unmask(&["curve", "--dist", "parity:n=4", "--unit", "bits"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("TC = 1   DTC = 3"), "{stdout}");
}
