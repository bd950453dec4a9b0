"""gin configs of the ICML 2020 paper (DDSP-inv): package data."""
