import Sluice
print("sluice-bench \(SluiceVersion.string)")
