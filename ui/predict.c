/*
 * predict.c - predict mode on screen: the question box, its keys, and what it hides.
 *
 * While a question waits for the class the box shows it with its choices (and the hands
 * counted per choice); A-D take the class's answer, digits after a letter count its hands,
 * and Space lets the action through. Once the run has shown the answer the box marks the
 * right choice and says why; the tally of right and wrong answers stays in its title. While
 * the class thinks, the Next line and the values asked about are hidden.
 */
#include "lesson_run.h"
#include "tui.h"

#include <stdio.h>
#include <string.h>

static const char *const LETTER = "ABCD";

int ui_predict_visible(const struct ui *u)
{
    if (!u->r || !u->r->lesson)
        return 0;
    int right, wrong, asked;
    predict_tally(u->r, &right, &wrong, &asked);
    return predict_on(u->r) || asked > 0;
}

/* The item the box is about: the question asking, else the last revealed. */
static const struct predict_item *shown_item(const struct ui *u)
{
    const struct predict_item *it = predict_asking(u->r);
    return it ? it : predict_last(u->r);
}

int ui_predict_masks(const struct ui *u, uint32_t obj)
{
    const struct predict_item *it = u->r ? predict_asking(u->r) : NULL;
    if (!it)
        return 0;
    switch (it->q->kind) {
    case LQ_VALUE:
    case LQ_SOCK:
    case LQ_HOLDER:
    case LQ_WAITING:
        return it->obj == obj;
    case LQ_TIMEWAIT:
        for (int i = 0; i < it->nchoices; i++)
            if (it->value[i] == (long)obj)
                return 1;
        return 0;
    default:
        return 0;
    }
}

int ui_predict_hides_next(const struct ui *u)
{
    return u->r && predict_asking(u->r) != NULL;
}

/* ---- drawing ---- */

static void title_text(const struct ui *u, char *buf, size_t n)
{
    int right, wrong, asked;
    predict_tally(u->r, &right, &wrong, &asked);
    if (!predict_on(u->r))
        snprintf(
            buf, n,
            TR(u, " Predict (off, p) · %d right · %d wrong ", " 预测（已关，p）· 对 %d · 错 %d "),
            right, wrong);
    else
        snprintf(buf, n,
                 TR(u, " Predict · %d right · %d wrong · %d asked ",
                    " 预测 · 对 %d · 错 %d · 共 %d 题 "),
                 right, wrong, asked);
}

/* The lines below the choices: what to press, or what happened. */
static void footer_text(const struct ui *u, const struct predict_item *it, char *buf, size_t n)
{
    int lang = u->lang == LANG_ZH;
    switch (it->state) {
    case PS_ASKING:
        snprintf(buf, n, "%s",
                 TR(u, "A-D: the class's answer (then digits: hands up) · Space: see what happens",
                    "A-D：全班的答案（再按数字：举手人数）· 空格：看看会发生什么"));
        return;
    case PS_WAITING:
        snprintf(
            buf, n, "%s",
            it->q->resolve == LR_END
                ? TR(u, "The answer comes when the run ends. Keep stepping.",
                     "答案在运行结束时揭晓。继续单步。")
                : TR(u, "Step on: the run will show the answer.", "继续单步：运行会给出答案。"));
        return;
    case PS_RIGHT:
        snprintf(buf, n, "%s %s", TR(u, "Right!", "答对了！"), it->why[lang]);
        return;
    case PS_WRONG:
        snprintf(buf, n, "%s %s", TR(u, "Not this time.", "这次没答对。"), it->why[lang]);
        return;
    case PS_NONE:
        snprintf(buf, n, "%s %s", TR(u, "(no answer given)", "（没有作答）"), it->why[lang]);
        return;
    case PS_VOID:
        snprintf(buf, n, "%s %s", TR(u, "Not scored:", "不计分："), it->why[lang]);
        return;
    }
}

static void choice_line(const struct ui *u, const struct predict_item *it, int i, char *buf,
                        size_t n, attr_t *a)
{
    int lang = u->lang == LANG_ZH;
    const char *mark = "  ";
    *a = THEME[R_NORMAL];
    if (it->correct == i) {
        mark = "✓ ";
        *a = THEME[R_GOOD] | A_BOLD;
    } else if (it->correct >= 0 && it->answer == i) {
        mark = "✗ ";
        *a = THEME[R_BAD];
    } else if (it->answer == i) {
        mark = "▶ ";
        *a = THEME[R_SEL] | A_BOLD;
    }
    int len = snprintf(buf, n, "%s%c  %s", mark, LETTER[i], it->choice[i][lang]);
    if (it->votes[i] && len > 0 && (size_t)len < n)
        snprintf(buf + len, n - (size_t)len, TR(u, "   (%d hands)", "   （%d 人）"), it->votes[i]);
}

/* Lines the box's inside needs at width w (without the border). */
static int body_lines(const struct ui *u, const struct predict_item *it, int w)
{
    char foot[1024];
    if (!it)
        return 2;
    footer_text(u, it, foot, sizeof(foot));
    return screen_wrap_count(w, it->text[u->lang == LANG_ZH]) + it->nchoices +
           screen_wrap_count(w, foot) + 1;
}

int ui_predict_height(const struct ui *u, int w)
{
    if (!ui_predict_visible(u))
        return 0;
    return body_lines(u, shown_item(u), w - 4) + 2;
}

void predict_draw(struct ui *u, struct rect r)
{
    char title[128];
    title_text(u, title, sizeof(title));
    const struct predict_item *it = shown_item(u);
    screen_clear_rect(r, THEME[R_NORMAL]);
    screen_box(r, title, it && it->state == PS_ASKING);
    struct rect in = screen_inner(r);
    in.x += 1;
    in.w -= 2;
    if (in.h <= 0 || in.w <= 0)
        return;
    if (!it) {
        screen_wrap(in, 0, THEME[R_DIM],
                    TR(u, "Predict mode: before each key moment the run stops and asks the class.",
                       "预测模式：每个关键时刻之前，运行会停下来向全班提问。"));
        return;
    }
    char head[32];
    snprintf(head, sizeof(head), TR(u, "Q%d. ", "第 %d 题。"), it->n);
    int y =
        screen_wrap(in, 0, it->state == PS_ASKING ? THEME[R_TITLE] | A_BOLD : THEME[R_TITLE], head);
    (void)y;
    struct rect qr = {in.y, in.x + screen_width(head), in.h, in.w - screen_width(head)};
    y = screen_wrap(qr, 0, it->state == PS_ASKING ? THEME[R_NORMAL] | A_BOLD : THEME[R_NORMAL],
                    it->text[u->lang == LANG_ZH]);
    for (int i = 0; i < it->nchoices && y < in.h; i++, y++) {
        char line[256];
        attr_t a;
        choice_line(u, it, i, line, sizeof(line), &a);
        screen_put(in.y + y, in.x, in.w, a, line);
    }
    char foot[1024];
    footer_text(u, it, foot, sizeof(foot));
    attr_t fa = it->state == PS_RIGHT   ? THEME[R_GOOD]
                : it->state == PS_WRONG ? THEME[R_WARN]
                                        : THEME[R_DIM];
    struct rect fr = {in.y + y, in.x, in.h - y, in.w};
    if (fr.h > 0)
        screen_wrap(fr, 0, fa, foot);
}

/* ---- keys ---- */

/* Space, A-D and digits while a question asks. 1 when the key was predict mode's. */
int ui_predict_key(struct ui *u, int ch)
{
    const struct predict_item *it = u->r ? predict_asking(u->r) : NULL;
    if (!it)
        return 0;
    if (ch >= 'A' && ch <= 'D') {
        int c = ch - 'A';
        if (predict_answer(u->r, c) < 0) {
            ui_message(u, TR(u, "This question has no choice %c.", "这道题没有选项 %c。"), ch);
            return 1;
        }
        u->hands_choice = c + 1;
        u->hands_count = 0;
        return 1;
    }
    if (ch >= '0' && ch <= '9') {
        if (!u->hands_choice) {
            ui_message(u, "%s",
                       TR(u, "Press a choice's letter first, then the number of hands.",
                          "先按选项字母，再输入举手人数。"));
            return 1;
        }
        u->hands_count = u->hands_count * 10 + (ch - '0');
        if (u->hands_count > 9999)
            u->hands_count = ch - '0';
        predict_vote(u->r, u->hands_choice - 1, u->hands_count);
        return 1;
    }
    if (ch == ' ') {
        u->hands_choice = 0;
        int slot = predict_reveal(u->r);
        ui_step(u, slot);
        return 1;
    }
    return 0;
}

void ui_key_answer(struct ui *u, int ch)
{
    if (!ui_predict_key(u, ch))
        ui_message(u, "%s",
                   TR(u, "No question is waiting: A-D answer predict mode's questions (p).",
                      "现在没有问题：A-D 用于回答预测模式（p）的问题。"));
}

void ui_key_predict(struct ui *u, int ch)
{
    (void)ch;
    if (!u->r->lesson || u->r->replay) {
        ui_message(u, "%s",
                   TR(u, "Predict mode needs a live run of a scenario with a lesson.",
                      "预测模式需要一个有课程内容的场景的实时运行。"));
        return;
    }
    int on = !predict_on(u->r);
    predict_set(u->r, on);
    u->hands_choice = 0;
    if (on && u->r->mode == RUN_RUN && u->r->delay_ms == 0)
        run_set_mode(u->r, RUN_STEP); /* questions stop the run at the gate */
    ui_message(u, "%s",
               on ? TR(u, "Predict mode: the run stops and asks before each key moment.",
                       "预测模式：每个关键时刻之前，运行停下来提问。")
                  : TR(u, "Predict mode off.", "预测模式已关闭。"));
}

void ui_key_code(struct ui *u, int ch)
{
    (void)ch;
    if (!lesson_find(u->sc->id)) {
        ui_message(u, "%s", TR(u, "This scenario has no code listing.", "这个场景没有代码清单。"));
        return;
    }
    u->show_code = !u->show_code;
}
