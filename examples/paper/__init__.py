"""Helpers for reproducing the paper's comparison (examples only, not the package).

`datasets`: an IDX reader and the offline Fashion-MNIST of Debian's
`dataset-fashion-mnist`; `evaluation`: CAMs, CAM localization, calibration
(ECE) and FGSM; `visualize`: the plots (matplotlib, imported lazily).
"""
