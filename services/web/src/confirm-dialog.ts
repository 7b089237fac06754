// A modal question before something that cannot be undone (closing an
// account). A <dialog> of the page, not window.confirm: it is styled, reads
// well on a phone, and Cancel is where the focus starts.
import { byTestId } from './dom.js';

/** Asks; resolves true when the person confirms, false on Cancel or Escape. */
export function confirmAction(question: string, confirmLabel: string): Promise<boolean> {
  const dialog = byTestId<HTMLDialogElement>('confirm-dialog');
  byTestId('confirm-text', dialog).textContent = question;
  const yes = byTestId<HTMLButtonElement>('confirm-yes', dialog);
  const no = byTestId<HTMLButtonElement>('confirm-no', dialog);
  yes.textContent = confirmLabel;
  return new Promise((resolve) => {
    const done = (answer: boolean) => {
      yes.onclick = no.onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    yes.onclick = () => done(true);
    no.onclick = () => done(false);
    dialog.onclose = () => done(false);
    dialog.showModal();
    no.focus();
  });
}
