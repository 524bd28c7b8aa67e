import Testing
@testable import Sluice

@Test func versionIsSemantic() {
    #expect(SluiceVersion.string.split(separator: ".").count == 3)
}
