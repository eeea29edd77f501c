//! UTF-8 checked as it arrives: a text message's fragments, and the parts
//! of a frame still being received, are fed in order and a sequence may be
//! split between two pieces. Lets the decoder refuse invalid text as soon
//! as the offending byte is here (RFC 6455 section 8.1: fail the
//! connection), not only once the whole message is.

/// The validator's state: the start of a sequence the last piece cut off.
#[derive(Debug, Default, Clone)]
pub(super) struct Utf8Stream {
    carry: [u8; 4],
    len: u8,
}

/// Invalid UTF-8 was fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Invalid;

/// Length of the sequence `lead` starts (a lead byte that `from_utf8`
/// reported as an incomplete, valid prefix).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xF0.. => 4,
        0xE0.. => 3,
        _ => 2,
    }
}

impl Utf8Stream {
    /// Checks the next piece.
    pub(super) fn feed(&mut self, mut data: &[u8]) -> Result<(), Invalid> {
        if self.len > 0 {
            let have = usize::from(self.len);
            let take = (sequence_len(self.carry[0]) - have).min(data.len());
            self.carry[have..have + take].copy_from_slice(&data[..take]);
            self.len += take as u8;
            data = &data[take..];
            match std::str::from_utf8(&self.carry[..usize::from(self.len)]) {
                Ok(_) => self.len = 0,
                Err(e) if e.error_len().is_some() => return Err(Invalid),
                // Still cut off: then `data` is used up.
                Err(_) => return Ok(()),
            }
        }
        match std::str::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(Invalid),
            Err(e) => {
                let tail = &data[e.valid_up_to()..];
                self.carry[..tail.len()].copy_from_slice(tail);
                self.len = tail.len() as u8;
                Ok(())
            }
        }
    }

    /// Whether everything fed so far ends on a sequence boundary (the
    /// text is complete UTF-8). Resets the state for the next text.
    pub(super) fn finish(&mut self) -> Result<(), Invalid> {
        let complete = self.len == 0;
        *self = Utf8Stream::default();
        if complete {
            Ok(())
        } else {
            Err(Invalid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` cut at every pair of positions; the verdict is the
    /// same as `from_utf8` on the whole.
    fn agrees(bytes: &[u8]) {
        let want = std::str::from_utf8(bytes).is_ok();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                let mut s = Utf8Stream::default();
                let got = s
                    .feed(&bytes[..i])
                    .and_then(|()| s.feed(&bytes[i..j]))
                    .and_then(|()| s.feed(&bytes[j..]))
                    .and_then(|()| s.finish())
                    .is_ok();
                assert_eq!(got, want, "{bytes:x?} cut at {i}, {j}");
            }
        }
    }

    #[test]
    fn split_sequences_match_whole_validation() {
        agrees("aé€𝄞z".as_bytes());
        agrees(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5");
        // A surrogate, an overlong form, a stray continuation, a cut-off end.
        agrees(b"ab\xed\xa0\x80cd");
        agrees(b"\xc0\xafx");
        agrees(b"x\x80");
        agrees(b"ok\xf0\x9f\x98");
        agrees(b"\xf4\x90\x80\x80");
    }

    #[test]
    fn invalid_bytes_are_refused_before_the_end() {
        let mut s = Utf8Stream::default();
        assert_eq!(s.feed(b"\xce\xba\xe1"), Ok(()));
        // The sequence 0xe1 started cannot continue with 0x28.
        assert_eq!(s.feed(b"\x28"), Err(Invalid));
        let mut s = Utf8Stream::default();
        s.feed(b"\xf0\x9f").unwrap();
        assert_eq!(s.finish(), Err(Invalid));
        // finish resets: the next text starts clean.
        assert_eq!(s.feed(b"ok").and_then(|()| s.finish()), Ok(()));
    }
}
