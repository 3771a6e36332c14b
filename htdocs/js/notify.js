// SPDX-License-Identifier: MIT
// notify.js: tells the agent that requests are waiting: a title badge "(N) livechat" and a short
// beep made with WebAudio (no sound file), repeated every 15 s while any request stays unanswered.
// The sound can be switched off; the choice is kept in localStorage.

const BASE_TITLE = 'livechat';
const REPEAT_MS = 15000;
const SOUND_KEY = 'livechat.sound';

let audioCtx = null;
let repeatTimer = null;
let waiting = 0;

export function soundEnabled() {
  return localStorage.getItem(SOUND_KEY) !== 'off';
}

export function setSoundEnabled(on) {
  localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
}

/** Number of beeps played so far (exposed for tests through window.livechat). */
export let beepCount = 0;

export function beep() {
  beepCount += 1;
  document.documentElement.dataset.beeps = String(beepCount);
  if (!soundEnabled()) return;
  try {
    audioCtx = audioCtx || new (window.AudioContext || window.webkitAudioContext)();
    if (audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
    const t0 = audioCtx.currentTime;
    for (const [offset, freq] of [[0, 880], [0.18, 1320]]) {
      const osc = audioCtx.createOscillator();
      const gain = audioCtx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t0 + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, t0 + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + offset + 0.15);
      osc.connect(gain).connect(audioCtx.destination);
      osc.start(t0 + offset);
      osc.stop(t0 + offset + 0.16);
    }
  } catch (e) {
    // no audio device: the title badge still tells
  }
}

/**
 * Sets the number of waiting requests. A rise beeps at once; while n > 0 the beep repeats.
 */
export function setWaiting(n) {
  const rose = n > waiting;
  waiting = n;
  document.title = n > 0 ? `(${n}) ${BASE_TITLE}` : BASE_TITLE;
  if (rose) beep();
  if (n > 0 && !repeatTimer) {
    repeatTimer = setInterval(() => {
      if (waiting > 0) beep();
    }, REPEAT_MS);
  } else if (n === 0 && repeatTimer) {
    clearInterval(repeatTimer);
    repeatTimer = null;
  }
}
