import Testing
@testable import RedressReview
