import Sluice
print("sluice \(SluiceVersion.string)")
