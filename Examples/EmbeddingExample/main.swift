import Sluice
print("example \(SluiceVersion.string)")
