import Testing
import Sluice

@Test func publicVersionIsVisible() {
    #expect(!SluiceVersion.string.isEmpty)
}
